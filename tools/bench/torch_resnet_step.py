#!/usr/bin/env python3
"""PyTorch reference for `pnpm bench`: one SGD training step of resnet-fm (batch 64, 28x28x1).

The same architecture as packages/models/src/resnet-fm.ts (77,754 trainable parameters: conv3x3
1->16 + BN + ReLU; basic blocks 16->16 s1, 16->32 s2 and 32->64 s2 with 1x1 conv + BN projections;
global average pool; dense 64->10; convolutions without bias), SGD with Nesterov momentum 0.9 and
weight decay 5e-4, cross-entropy, NCHW input (PyTorch's native layout). Prints one JSON object:
{"threads": {"1": ms, "2": ms}, "params": n, "torch": version}, medians of --repeats timed steps
after warm-up.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Basic(nn.Module):
    def __init__(self, cin, cout, stride, project):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if project else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(h))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


class ResnetFm(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(Basic(16, 16, 1, False), Basic(16, 32, 2, True), Basic(32, 64, 2, True))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(x.mean(dim=(2, 3)))


def time_step(threads, repeats, batch):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = ResnetFm()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return statistics.median(times), params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    out = {"threads": {}, "torch": torch.__version__, "batch": a.batch}
    for t in (1, 2):
        ms, params = time_step(t, a.repeats, a.batch)
        out["threads"][str(t)] = ms
        out["params"] = params
    print(json.dumps(out))


if __name__ == "__main__":
    main()
