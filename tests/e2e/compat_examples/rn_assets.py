import xrun.compat.runicorn as rn

run = rn.init(project="demo")

# Snapshot entire workspace
manifest = rn.snapshot_workspace(
    run_id=run.id,
    include_patterns=["*.py", "config.yaml"],
    exclude_patterns=["*.pyc", "__pycache__"]
)

# Store individual blobs
blob_id = run.store_blob("model.pth")
model_path = run.get_blob_path(blob_id)

run.finish()
