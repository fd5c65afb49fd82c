import xrun.compat.runicorn as rn
from PIL import Image
import numpy as np

run = rn.init(project="demo")

# From PIL Image
img = Image.open("prediction.png")
run.log_image("prediction", img, step=100, caption="Model prediction")

# From numpy array
array = np.random.rand(224, 224, 3) * 255
run.log_image("sample", array.astype(np.uint8), step=100)

# From file path
run.log_image("result", "output.jpg", step=100)

run.finish()
