import xrun.compat.runicorn as rn

run = rn.init(project="demo")

try:
    # Training code
    for step in range(100):
        run.log({"loss": 0.1}, step=step)
    
    # Success
    run.finish(status="finished")
    
except KeyboardInterrupt:
    # User interrupted
    run.finish(status="interrupted")
    
except Exception as e:
    # Training failed
    run.log_text(f"Error: {e}")
    run.finish(status="failed")
