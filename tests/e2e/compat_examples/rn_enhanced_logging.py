import xrun.compat.runicorn as rn
import logging

# Enable console capture
run = rn.init(project="demo", capture_console=True, tqdm_mode="smart")

# All print() output is captured
print("Training started...")

# Integrate with Python logging
logger = logging.getLogger(__name__)
logger.addHandler(run.get_logging_handler())
logger.info("Epoch 1 completed")

# tqdm progress bars are intelligently handled
from tqdm import tqdm
for i in tqdm(range(100)):
    train_step()

run.finish()
# All output is saved to logs.txt
