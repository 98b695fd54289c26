# torch: small tensor arithmetic and a small nn.Module forward/backward in a loop (torch's
# C++ core allocates through operator new and its CPU allocator through posix_memalign).
import sys
import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
torch.manual_seed(0)
torch.set_num_threads(1)
model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_sum = 0.0
for i in range(steps):
    x = torch.randn(16, 32)
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss_sum += float(loss)
print("py_torch", steps, round(loss_sum, 4))
