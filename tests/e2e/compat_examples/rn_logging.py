import xrun.compat.runicorn as rn
import logging

run = rn.init(project="demo")

# Add Runicorn handler to your logger
logger = logging.getLogger(__name__)
logger.addHandler(run.get_logging_handler())
logger.setLevel(logging.INFO)

# Now all logging calls are saved to logs.txt
logger.info("Training started")
logger.warning("Learning rate is high")
logger.error("Out of memory")

run.finish()
