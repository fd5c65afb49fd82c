import xrun.compat.runicorn as rn

run = rn.init(project="demo")

# Training...
for step in range(100):
    run.log({"loss": 0.1}, step=step)

# Save final results
run.summary({
    "final_accuracy": 0.95,
    "final_loss": 0.05,
    "total_epochs": 100,
    "dataset": "CIFAR-10",
    "model": "ResNet50",
    "notes": "Baseline experiment with default hyperparameters"
})

run.finish()
