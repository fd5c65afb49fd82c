import xrun.compat.runicorn as rn

run = rn.init(project="demo")

# Track best accuracy
run.set_primary_metric("accuracy", mode="max")

# Training loop
for step in range(100):
    acc = train_step()  # Your training code
    run.log({"accuracy": acc}, step=step)

# Best accuracy is automatically saved to summary
run.finish()
