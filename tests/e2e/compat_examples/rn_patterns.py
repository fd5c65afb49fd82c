import xrun.compat.runicorn as rn

# Pattern 1: Simple Training Loop
run = rn.init(project="demo", name="simple_training")
run.set_primary_metric("accuracy", mode="max")

for epoch in range(100):
    # Your training code
    loss, acc = train_one_epoch(model)
    
    # Log metrics
    run.log({"loss": loss, "accuracy": acc}, step=epoch)

run.finish()

# Pattern 2: Multi-Stage Training
run = rn.init(project="demo")

# Warmup stage
for step in range(10):
    run.log({"loss": 1.0}, step=step, stage="warmup")

# Training stage
for step in range(10, 100):
    run.log({"loss": 0.5}, step=step, stage="train")

# Evaluation stage
for step in range(100, 110):
    run.log({"val_loss": 0.3}, step=step, stage="eval")

run.finish()

# Pattern 3: Checkpoint Saving (torch.save is a numpy stand-in, see standins.py)
run = rn.init(project="training")

for epoch in range(100):
    train_one_epoch(model)
    
    # Save checkpoint every 10 epochs
    if epoch % 10 == 0:
        # Save model
        checkpoint_path = f"checkpoint_epoch{epoch}.pth"
        torch.save(model.state_dict(), checkpoint_path)
        
        # Save as artifact
        artifact = rn.Artifact(f"model-checkpoint", type="model")
        artifact.add_file(checkpoint_path)
        artifact.add_metadata({"epoch": epoch})
        
        version = run.log_artifact(artifact)
        run.log_text(f"Checkpoint saved as v{version}")

run.finish()
