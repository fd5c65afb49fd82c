import xrun.compat.runicorn as rn

run = rn.init(project="demo")

# Simple logging
run.log({"loss": 0.5, "accuracy": 0.8}, step=10)

# Auto-incrementing step
run.log({"loss": 0.4})  # step=1
run.log({"loss": 0.3})  # step=2

# With stage
run.log({"loss": 0.2}, stage="train")
run.log({"val_loss": 0.3}, stage="eval")

# Using kwargs
run.log(loss=0.1, accuracy=0.95, lr=0.001, step=100)

# Mixed
run.log({"loss": 0.1}, accuracy=0.95, step=100)

run.finish()
