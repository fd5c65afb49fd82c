import pandas as pd
from xrun.compat.digitalhub import handler, Dataitem


# 1. Simple function that returns a string

def func1():
   return "hello world"

# 2. Decorated function that returns a string

# If you decorate your function and return something, you need to map the outputs
# in the decorator
@handler(outputs=["result"])
def func2():
   return "hello world"


# 3. Function with project argument
def func3(project):
   # allowed use of project variable
   project.log_artifact(name="example",
                        kind="artifact",
                        source_path="data.csv")


# 4. Function with context and events arguments
def func4(context, events):
   # allowed use of context and events variables in remote execution
   context.logger.info("Some log")

# 5. Function with mixed input arguments
def func5(di: Dataitem, param1: str):
   # di refers to a Dataitem object, so it must be mapped into runs inputs
   # param1 is a string, it must be mapped into runs parameters
   return {"rows": len(di.as_df()), "param1": param1}


@handler(outputs=["data", "string"])
def func(di: Dataitem, param1: str):
   # do something with di
   return di.as_df() * 2, "some value"
