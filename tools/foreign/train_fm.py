#!/usr/bin/env python3
"""Foreign models for lowbit's tests and benchmarks: Fashion-MNIST networks trained with PyTorch
(not with lowbit), exported to TF.js LayersModels by hand-written Keras topology + float32 weights.

The recipe is deliberately not lowbit's (tools/training): PyTorch's default initialisation
(kaiming-uniform, a=sqrt(5)), PyTorch BatchNorm (momentum 0.1, eps 1e-5), SGD with Nesterov
momentum 0.9, one-cycle learning rate (peak 0.08, batch 128), weight decay 1e-4 on conv/linear
weights only, label smoothing 0.1, augmentation random crop (padding 2) + horizontal flip.
Inputs are pixels / 255 in [0, 1], NHWC in the export (NCHW in PyTorch).

  /usr/bin/python3 tools/foreign/train_fm.py --arch resnet --seed 7 --epochs 12 --out runs/foreign/resnet
  /usr/bin/python3 tools/foreign/train_fm.py --arch mbv2 --seed 7 --epochs 12 --out runs/foreign/mbv2

Checkpoints every epoch to OUT/state.pt (--resume continues exactly: model, optimiser, scheduler,
RNG); at the end OUT/tfjs/ holds model.json + group1-shard1of1.bin, OUT/tfjs/check.json the
PyTorch logits of test images 0..15 (for the import check), OUT/log.jsonl one line per epoch.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = '/usr/share/datasets/fashion-mnist'


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        magic, = struct.unpack('>I', f.read(4))
        dims = [struct.unpack('>I', f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(split):
    x = read_idx(os.path.join(DATA, f'{split}-images-idx3-ubyte.gz'))
    y = read_idx(os.path.join(DATA, f'{split}-labels-idx1-ubyte.gz'))
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


# ---- networks: each layer remembers how it is written as Keras ----

class ConvBN(nn.Module):
    """conv (no bias) + BN + optional ReLU / ReLU6; `groups == cin` makes it depthwise."""

    def __init__(self, cin, cout, k, stride, act, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act == 'relu':
            return F.relu(x)
        if self.act == 'relu6':
            return F.relu6(x)
        return x


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = ConvBN(cin, cout, 3, stride, 'relu')
        self.c2 = ConvBN(cout, cout, 3, 1, None)
        self.proj = ConvBN(cin, cout, 1, stride, None) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        s = self.proj(x) if self.proj is not None else x
        return F.relu(self.c2(self.c1(x)) + s)


class ResNetFM(nn.Module):
    """Stem 3x3 1->24, basic blocks 24, 24, 48 s2, 48, 96 s2, 96; GAP; linear 96->10."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 24, 3, 1, 'relu')
        cfg = [(24, 24, 1), (24, 24, 1), (24, 48, 2), (48, 48, 1), (48, 96, 2), (96, 96, 1)]
        self.blocks = nn.ModuleList([Basic(a, b, s) for a, b, s in cfg])
        self.fc = nn.Linear(96, 10)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.fc(x.mean((2, 3)))


class InvRes(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hid = cin * t
        self.expand = ConvBN(cin, hid, 1, 1, 'relu6') if t != 1 else None
        self.dw = ConvBN(hid, hid, 3, stride, 'relu6', groups=hid)
        self.project = ConvBN(hid, cout, 1, 1, None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.dw(h))
        return x + h if self.residual else h


class MobileNetV2FM(nn.Module):
    """Stem 3x3 1->16 ReLU6; inverted residuals (t, c, s): (1,16,1) (6,24,2) (6,24,1) (6,32,2)
    (6,32,1) (6,32,1) (6,64,1) (6,64,1); 1x1 64->256 ReLU6; GAP; dropout 0.2; linear 256->10."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 16, 3, 1, 'relu6')
        cfg = [(16, 16, 1, 1), (16, 24, 2, 6), (24, 24, 1, 6), (24, 32, 2, 6), (32, 32, 1, 6), (32, 32, 1, 6), (32, 64, 1, 6), (64, 64, 1, 6)]
        self.blocks = nn.ModuleList([InvRes(a, b, s, t) for a, b, s, t in cfg])
        self.head = ConvBN(64, 256, 1, 1, 'relu6')
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        x = self.head(x)
        return self.fc(self.drop(x.mean((2, 3))))


# ---- Keras / TF.js export ----

class KerasWriter:
    def __init__(self):
        self.layers = [{'name': 'input_1', 'class_name': 'InputLayer', 'config': {'name': 'input_1', 'batch_input_shape': [None, 28, 28, 1], 'dtype': 'float32'}, 'inbound_nodes': []}]
        self.weights = []  # (name, np.float32 array)
        self.count = {}

    def name(self, base):
        n = self.count.get(base, 0)
        self.count[base] = n + 1
        return f'{base}_{n}' if n else base

    def add(self, cls, base, config, inputs, weights=()):
        name = self.name(base)
        self.layers.append({'name': name, 'class_name': cls, 'config': {'name': name, 'trainable': True, **config}, 'inbound_nodes': [[[i, 0, 0, {}] for i in inputs]]})
        for wname, arr in weights:
            self.weights.append((f'{name}/{wname}', np.ascontiguousarray(arr, dtype=np.float32)))
        return name

    def conv_bn(self, m, x, base):
        conv, bn = m.conv, m.bn
        k = conv.kernel_size[0]
        s = conv.stride[0]
        depthwise = conv.groups > 1
        w = conv.weight.detach().numpy()
        if s != 1 and k > 1:
            # PyTorch pads k//2 on both sides; Keras 'same' at stride 2 pads only after: pad explicitly
            x = self.add('ZeroPadding2D', f'{base}_pad', {'padding': [[k // 2, k // 2], [k // 2, k // 2]], 'data_format': 'channels_last'}, [x])
            padding = 'valid'
        else:
            padding = 'same'
        common = {'kernel_size': [k, k], 'strides': [s, s], 'padding': padding, 'data_format': 'channels_last', 'dilation_rates': [1, 1], 'use_bias': False, 'activation': 'linear'}
        if depthwise:
            x = self.add('DepthwiseConv2D', f'{base}_dw', {**common, 'depth_multiplier': 1}, [x], [('depthwise_kernel', w.transpose(2, 3, 0, 1))])  # [C,1,kh,kw] -> [kh,kw,C,1]
        else:
            x = self.add('Conv2D', f'{base}_conv', {**common, 'filters': w.shape[0]}, [x], [('kernel', w.transpose(2, 3, 1, 0))])  # OIHW -> HWIO
        x = self.add('BatchNormalization', f'{base}_bn', {'axis': -1, 'momentum': 0.9, 'epsilon': bn.eps, 'center': True, 'scale': True}, [x],
                     [('gamma', bn.weight.detach().numpy()), ('beta', bn.bias.detach().numpy()), ('moving_mean', bn.running_mean.numpy()), ('moving_variance', bn.running_var.numpy())])
        if m.act == 'relu':
            x = self.add('ReLU', f'{base}_relu', {}, [x])
        elif m.act == 'relu6':
            x = self.add('ReLU', f'{base}_relu6', {'max_value': 6.0}, [x])
        return x

    def head(self, fc, x, base='fc'):
        x = self.add('GlobalAveragePooling2D', 'gap', {'data_format': 'channels_last'}, [x])
        return self.add('Dense', base, {'units': fc.out_features, 'activation': 'linear', 'use_bias': True}, [x], [('kernel', fc.weight.detach().numpy().T), ('bias', fc.bias.detach().numpy())])

    def write(self, out_dir, output):
        os.makedirs(out_dir, exist_ok=True)
        data = b''.join(a.tobytes() for _, a in self.weights)
        manifest = [{'paths': ['group1-shard1of1.bin'], 'weights': [{'name': n, 'shape': list(a.shape), 'dtype': 'float32'} for n, a in self.weights]}]
        topo = {'class_name': 'Functional', 'config': {'name': 'model', 'layers': self.layers, 'input_layers': [['input_1', 0, 0]], 'output_layers': [[output, 0, 0]]}, 'keras_version': '2.11.0', 'backend': 'tensorflow'}
        j = {'format': 'layers-model', 'generatedBy': 'lowbit tools/foreign/train_fm.py (PyTorch ' + torch.__version__ + ')', 'convertedBy': None, 'modelTopology': topo, 'weightsManifest': manifest}
        with open(os.path.join(out_dir, 'group1-shard1of1.bin'), 'wb') as f:
            f.write(data)
        with open(os.path.join(out_dir, 'model.json'), 'w') as f:
            json.dump(j, f)


def export(model, arch, out_dir):
    model.eval()
    k = KerasWriter()
    x = k.conv_bn(model.stem, 'input_1', 'stem')
    for i, b in enumerate(model.blocks):
        base = f'block{i + 1}'
        if arch == 'resnet':
            h = k.conv_bn(b.c1, x, f'{base}_1')
            h = k.conv_bn(b.c2, h, f'{base}_2')
            s = k.conv_bn(b.proj, x, f'{base}_proj') if b.proj is not None else x
            x = k.add('ReLU', f'{base}_out', {}, [k.add('Add', f'{base}_add', {}, [h, s])])
        else:
            h = k.conv_bn(b.expand, x, f'{base}_expand') if b.expand is not None else x
            h = k.conv_bn(b.dw, h, f'{base}_depthwise')
            h = k.conv_bn(b.project, h, f'{base}_project')
            x = k.add('Add', f'{base}_add', {}, [x, h]) if b.residual else h
    if arch == 'mbv2':
        x = k.conv_bn(model.head, x, 'head')
    out = k.head(model.fc, x)
    k.write(out_dir, out)


def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', choices=['resnet', 'mbv2'], required=True)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=0.08)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', required=True)
    ap.add_argument('--resume', action='store_true')
    ap.add_argument('--limit', type=int, default=0, help='train on the first N images only (a smoke test)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = load('train')
    xte, yte = load('t10k')
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    model = ResNetFM() if a.arch == 'resnet' else MobileNetV2FM()
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 1e-4}, {'params': rest, 'weight_decay': 0}], lr=a.lr, momentum=0.9, nesterov=True)
    steps = a.epochs * (len(xtr) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(a.seed)
    start = 0
    state_path = os.path.join(a.out, 'state.pt')
    if a.resume and os.path.exists(state_path):
        st = torch.load(state_path)
        model.load_state_dict(st['model'])
        opt.load_state_dict(st['opt'])
        sched.load_state_dict(st['sched'])
        gen.set_state(st['gen'])
        torch.set_rng_state(st['torch_rng'])
        start = st['epoch']
    for epoch in range(start, a.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        n = 0
        for i in range(len(xtr) // a.batch):
            idx = perm[i * a.batch:(i + 1) * a.batch]
            xb = xtr[idx]
            # random crop with padding 2 and horizontal flip, per image
            shifts = torch.randint(-2, 3, (len(idx), 2), generator=gen)
            flips = torch.rand(len(idx), generator=gen) < 0.5
            xp = F.pad(xb, (2, 2, 2, 2))
            xb = torch.stack([xp[j, :, 2 + shifts[j, 0]:30 + shifts[j, 0], 2 + shifts[j, 1]:30 + shifts[j, 1]] for j in range(len(idx))])
            xb = torch.where(flips[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            n += 1
        acc = evaluate(model, xte, yte)
        line = {'epoch': epoch + 1, 'loss': total / n, 'test_top1': acc, 'seconds': round(time.time() - t0, 1)}
        print(json.dumps(line), flush=True)
        with open(os.path.join(a.out, 'log.jsonl'), 'a') as f:
            f.write(json.dumps(line) + '\n')
        tmp = state_path + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'sched': sched.state_dict(), 'gen': gen.get_state(), 'torch_rng': torch.get_rng_state(), 'epoch': epoch + 1}, tmp)
        os.replace(tmp, state_path)
    model.eval()
    tf_dir = os.path.join(a.out, 'tfjs')
    export(model, a.arch, tf_dir)
    with torch.no_grad():
        logits = model(xte[:16]).numpy()
    acc = evaluate(model, xte, yte)
    with open(os.path.join(tf_dir, 'check.json'), 'w') as f:
        json.dump({'images': 't10k 0..15, pixels/255, NHWC [16, 28, 28, 1]', 'logits': logits.tolist(), 'test_top1': acc,
                   'command': f'/usr/bin/python3 tools/foreign/train_fm.py --arch {a.arch} --seed {a.seed} --epochs {a.epochs} --batch {a.batch} --lr {a.lr} --out {a.out}', 'torch': torch.__version__}, f)
    print(json.dumps({'exported': tf_dir, 'test_top1': acc}), flush=True)


if __name__ == '__main__':
    main()
