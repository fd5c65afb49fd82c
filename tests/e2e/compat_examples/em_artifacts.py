from xrun.compat.expman import Experiment

with Experiment("artifact_demo") as exp:
    # ... training code ...
    
    # Save a model weights file
    # This copies the file locally to the run's artifacts/ folder
    exp.save_artifact("model_weights.pt")
