train.py:fit
# :param LR:
#     The rate.
LR: float = 0.1
X = """a
"""; Y = f"{LR!r:>{3}}"
Z = [1,
  2] \
  + []

def fit(a: int = 3, /, *args, b: "list[int]" = [1, 2], **kw) -> None:
    pass

async def go(x=lambda y: (y, ")")): ...
