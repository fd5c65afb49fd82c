import xrun.compat.runicorn as rn

# Initialize
run = rn.init(project="demo", name="exp1")

# Set primary metric
run.set_primary_metric("accuracy", mode="max")

# Log metrics
run.log({"loss": 0.1, "accuracy": 0.95}, step=100, stage="train")

# Log text
run.log_text("Training started")

# Log image
run.log_image("prediction", image_array, step=100)

# Save artifact
artifact = rn.Artifact("my-model", type="model")
artifact.add_file("model.pth")
run.log_artifact(artifact)

# Summary
run.summary({"final_accuracy": 0.95})

# Finish
run.finish()
