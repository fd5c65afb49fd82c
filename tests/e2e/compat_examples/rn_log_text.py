import xrun.compat.runicorn as rn

run = rn.init(project="demo")

run.log_text("Starting training...")
run.log_text(f"Epoch 1/100, loss=0.5")
run.log_text("✓ Training completed")

run.finish()
