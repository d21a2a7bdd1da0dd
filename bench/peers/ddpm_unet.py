"""The published DDPM/CBDM UNet architecture in plain PyTorch, written from its description (module
names chosen so state-dict keys equal the published ones). Used by the PyTorch peer of
`cbdm bench train` and by the parity fixture generator test/fixtures/unet/make_unet.py.
"""
import math
import torch
from torch import nn
import torch.nn.functional as F


class Act(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class TimeEmb(nn.Module):
    def __init__(self, T, d, dim):
        super().__init__()
        freqs = torch.exp(-(torch.arange(0, d, step=2) / d * math.log(10000)))
        ang = torch.arange(T).float()[:, None] * freqs[None, :]
        table = torch.stack([torch.sin(ang), torch.cos(ang)], dim=-1).view(T, d)
        self.timembedding = nn.Sequential(nn.Embedding.from_pretrained(table), nn.Linear(d, dim), Act(), nn.Linear(dim, dim))

    def forward(self, t):
        return self.timembedding(t)


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.main = nn.Conv2d(c, c, 3, 2, 1)

    def forward(self, x, temb):
        return self.main(x)


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.main = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x, temb):
        return self.main(F.interpolate(x, scale_factor=2, mode='nearest'))


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.group_norm = nn.GroupNorm(32, c)
        self.proj_q = nn.Conv2d(c, c, 1)
        self.proj_k = nn.Conv2d(c, c, 1)
        self.proj_v = nn.Conv2d(c, c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.group_norm(x)
        q = self.proj_q(h).permute(0, 2, 3, 1).reshape(B, H * W, C)
        k = self.proj_k(h).reshape(B, C, H * W)
        v = self.proj_v(h).permute(0, 2, 3, 1).reshape(B, H * W, C)
        w = F.softmax(torch.bmm(q, k) * (C ** -0.5), dim=-1)
        o = torch.bmm(w, v).reshape(B, H, W, C).permute(0, 3, 1, 2)
        return x + self.proj(o)


class Res(nn.Module):
    def __init__(self, cin, cout, tdim, attn):
        super().__init__()
        self.block1 = nn.Sequential(nn.GroupNorm(32, cin), Act(), nn.Conv2d(cin, cout, 3, 1, 1))
        self.temb_proj = nn.Sequential(Act(), nn.Linear(tdim, cout))
        self.block2 = nn.Sequential(nn.GroupNorm(32, cout), Act(), nn.Dropout(0.1), nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.attn = Attn(cout) if attn else nn.Identity()

    def forward(self, x, temb):
        h = self.block1(x) + self.temb_proj(temb)[:, :, None, None]
        h = self.block2(h) + self.shortcut(x)
        return self.attn(h)


class Net(nn.Module):
    def __init__(self, T, ch, mult, attn, nres, ncls):
        super().__init__()
        tdim = 4 * ch
        self.time_embedding = TimeEmb(T, ch, tdim)
        self.label_embedding = nn.Embedding(ncls, tdim)
        self.head = nn.Conv2d(3, ch, 3, 1, 1)
        self.downblocks = nn.ModuleList()
        chs, now = [ch], ch
        for i, m in enumerate(mult):
            for _ in range(nres):
                self.downblocks.append(Res(now, ch * m, tdim, i in attn))
                now = ch * m
                chs.append(now)
            if i != len(mult) - 1:
                self.downblocks.append(Down(now))
                chs.append(now)
        self.middleblocks = nn.ModuleList([Res(now, now, tdim, True), Res(now, now, tdim, False)])
        self.upblocks = nn.ModuleList()
        for i, m in reversed(list(enumerate(mult))):
            for _ in range(nres + 1):
                self.upblocks.append(Res(chs.pop() + now, ch * m, tdim, i in attn))
                now = ch * m
            if i != 0:
                self.upblocks.append(Up(now))
        self.tail = nn.Sequential(nn.GroupNorm(32, now), Act(), nn.Conv2d(now, 3, 3, 1, 1))

    def forward(self, x, t, y=None):
        temb = self.time_embedding(t)
        if y is not None:
            temb = temb + self.label_embedding(y)
        h = self.head(x)
        hs = [h]
        for l in self.downblocks:
            h = l(h, temb)
            hs.append(h)
        for l in self.middleblocks:
            h = l(h, temb)
        for l in self.upblocks:
            if isinstance(l, Res):
                h = torch.cat([h, hs.pop()], dim=1)
            h = l(h, temb)
        return self.tail(h)
