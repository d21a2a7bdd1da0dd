"""PyTorch peer of `cbdm bench train`: img/s of a full CBDM training step (2 forward + 2
backward passes, Adam, EMA) and of DDPM sampling (one ε-network forward per image and step), on
the same UNet configuration. Prints one JSON object. Usage:
  /usr/bin/python3 bench/peers/train.py '{"ch":32,"mult":[1,2,2],"attn":[1],"nres":1,"ncls":10,"size":16,"batch":64,"threads":2,"reps":3}'
Optional keys (for scripts/device-check.sh on a GPU host): "device": "cuda" (default "cpu"; times
are taken after torch.cuda.synchronize()), "compile": true (torch.compile the network, eager by
default; compilation happens in the untimed warm-up step), "amp": "bf16" (bf16 autocast with fp32
master weights, default fp32), "warmup": n untimed steps (default 1), "pass": "train" or "sample" (only
that part; default both — the part not run is reported as null).
"""
import copy, json, os, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddpm_unet import Net  # noqa: E402


def main():
    c = json.loads(sys.argv[1])
    clock = time.process_time if c.get('clock') == 'cpu' else time.perf_counter
    torch.set_num_threads(c['threads'])
    torch.manual_seed(0)
    dev = torch.device(c.get('device', 'cpu'))
    cuda = dev.type == 'cuda'
    amp = c.get('amp', 'fp32')
    net = Net(T=1000, ch=c['ch'], mult=c['mult'], attn=c['attn'], nres=c['nres'], ncls=c['ncls']).to(dev).train()
    ema = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    model = torch.compile(net) if c.get('compile') else net
    B, S, T = c['batch'], c['size'], 1000
    x0 = torch.randn(B, 3, S, S, device=dev)
    y = torch.randint(0, c['ncls'], (B,), device=dev)
    ab = torch.cumprod(1 - torch.linspace(1e-4, 0.02, T).double(), 0).to(dev)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp == 'bf16')

    def step():
        opt.zero_grad()
        t = torch.randint(T, (B,), device=dev)
        eps = torch.randn_like(x0)
        a = ab[t].float().view(B, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        yb = torch.randint(0, c['ncls'], (B,), device=dev)
        with autocast():
            h = model(xt, t, y).float()
            hb = model(xt, t, yb).float()
        w = (t / T).view(B, 1, 1, 1)
        loss = F.mse_loss(h, eps) + (w * (h - hb.detach()) ** 2).mean() + 0.25 * (w * (h.detach() - hb) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(0.9999).add_(pn, alpha=1e-4)

    which = c.get('pass', 'both')
    train_s = None
    if which != 'sample':
        for _ in range(c.get('warmup', 1)):
            step()
        sync()
        times = []
        for _ in range(c['reps']):
            t0 = clock()
            step()
            sync()
            times.append(clock() - t0)
        train_s = sorted(times)[len(times) // 2]
    net.eval()
    t = torch.full((B,), 500, device=dev)
    fwd_s = None
    if which != 'train':
        with torch.no_grad(), autocast():
            for _ in range(c.get('warmup', 1)):
                model(x0, t, y)
            sync()
            times = []
            for _ in range(c['reps']):
                t0 = clock()
                model(x0, t, y)
                sync()
                times.append(clock() - t0)
        fwd_s = sorted(times)[len(times) // 2]
    out = {'train_img_s': B / train_s if train_s else None, 'sample_img_steps_s': B / fwd_s if fwd_s else None, 'torch': torch.__version__}
    if cuda:
        out['device'] = torch.cuda.get_device_name(0)
        out['max_memory_bytes'] = torch.cuda.max_memory_allocated()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
