"""Export the PyTorch peer's UNet (bench/peers/ddpm_unet.py, initialised as bench/peers/train.py
does: torch.manual_seed(0), then Net(...)) to ONNX with torch.onnx.export, for the onnxruntime
peer of `cbdm bench train` (bench/peers/onnxruntime.mjs): the two peers run the same weights.
Static shapes (batch B, image S), opset 17, inputs x float32 [B,3,S,S], t int64 [B], y int64 [B],
output eps. Prints one JSON object. Usage:
  /usr/bin/python3 bench/peers/export_onnx.py OUT.onnx '{"ch":32,"mult":[1,2,2],"attn":[1],"nres":1,"ncls":10,"size":16,"batch":64}'
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddpm_unet import Net  # noqa: E402


def main():
    out, c = sys.argv[1], json.loads(sys.argv[2])
    torch.manual_seed(0)
    net = Net(T=1000, ch=c['ch'], mult=c['mult'], attn=c['attn'], nres=c['nres'], ncls=c['ncls']).eval()
    B, S = c['batch'], c['size']
    x = torch.randn(B, 3, S, S)
    t = torch.full((B,), 500, dtype=torch.int64)
    y = torch.arange(B, dtype=torch.int64) % c['ncls']
    with torch.no_grad():
        torch.onnx.export(net, (x, t, y), out, opset_version=17, input_names=['x', 't', 'y'], output_names=['eps'])
    print(json.dumps({'path': out, 'torch': torch.__version__, 'bytes': os.path.getsize(out)}))


if __name__ == '__main__':
    main()
