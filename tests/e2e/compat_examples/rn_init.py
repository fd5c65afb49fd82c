import xrun.compat.runicorn as rn

# Simple
run = rn.init(project="demo")

# With name
run = rn.init(project="image_classification", name="resnet50_v1")

# With custom storage
run = rn.init(project="demo", storage="E:\\MLData")

# Without environment capture (faster)
run = rn.init(project="demo", capture_env=False)

# v0.6.0: With console capture
run = rn.init(project="demo", capture_console=True)
# All print() and stderr output will be saved to logs.txt

# v0.6.0: With tqdm handling
run = rn.init(project="demo", capture_console=True, tqdm_mode="smart")
# tqdm progress bars are intelligently filtered
