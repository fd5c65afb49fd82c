import xrun.compat.expman as expman

# Initialize globally
# You can optionally specify a custom 'run_name' instead of relying on the auto-generated timestamp
exp = expman.Experiment("resnet_cifar10", run_name="test_run_01")

exp.log_params({"lr": 0.001})

for step in range(100):
    exp.log_metrics({"loss": 0.5 - (step * 0.001)}, step=step)

# The run will auto-close on script exit.
# Alternatively, you can explicitly close it:
# exp.close()
