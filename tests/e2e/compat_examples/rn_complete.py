import xrun.compat.runicorn as rn
# Stand-ins for torch, torch.nn, torch.optim and torchvision (see standins.py): the model, its
# optimizer, loss and data loader are numpy objects with the same calls.
from standins import torch, nn, optim, datasets, transforms

# Initialize
run = rn.init(
    project="image_classification",
    name="mnist_cnn",
    capture_env=True  # Capture Git, pip packages, system info
)

run.log_text("Starting MNIST training...")
run.set_primary_metric("test_accuracy", mode="max")

# Define model
model = nn.Sequential(
    nn.Conv2d(1, 32, 3, 1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(5408, 10)
)

optimizer = optim.Adam(model.parameters(), lr=0.001)
criterion = nn.CrossEntropyLoss()

# Load data
train_loader = torch.utils.data.DataLoader(
    datasets.MNIST('./data', train=True, download=True,
                   transform=transforms.ToTensor()),
    batch_size=64, shuffle=True
)

# Training loop
for epoch in range(10):
    model.train()
    total_loss = 0
    
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        
        total_loss += loss.item()
        
        # Log every 100 batches
        if batch_idx % 100 == 0:
            run.log({
                "train_loss": loss.item(),
                "learning_rate": optimizer.param_groups[0]['lr']
            }, stage="train")
    
    # Log epoch metrics
    avg_loss = total_loss / len(train_loader)
    run.log({"epoch_loss": avg_loss}, step=epoch)
    run.log_text(f"Epoch {epoch+1}/10, loss={avg_loss:.4f}")

# Save model
torch.save(model.state_dict(), "mnist_model.pth")

# Save as artifact
artifact = rn.Artifact("mnist-cnn", type="model")
artifact.add_file("mnist_model.pth")
artifact.add_metadata({
    "architecture": "Simple CNN",
    "epochs": 10,
    "optimizer": "Adam",
    "dataset": "MNIST"
})

version = run.log_artifact(artifact)
run.log_text(f"Model saved as v{version}")

# Summary
run.summary({
    "final_loss": avg_loss,
    "total_epochs": 10,
    "model_path": "mnist_model.pth"
})

run.finish()
print(f"✓ Experiment completed: {run.id}")
