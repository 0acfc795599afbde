"""Writes the checkpoint fixtures for the io tests into OUTDIR, with expected.json describing their contents.

Run with Debian's /usr/bin/python3 (which has torch 1.13 and torchvision). Usage: make_checkpoints.py OUTDIR
"""
import collections
import hashlib
import json
import math
import os
import struct
import sys
import zipfile

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(0)
expected = {}

# Same-width integer dtypes, so every tensor's raw little-endian bytes can go through numpy.
BITS_AS_INT = {
    torch.float32: torch.int32,
    torch.float64: torch.int64,
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
    torch.bool: torch.uint8,
}
SAFETENSORS_CODE = {
    torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
    torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL',
}


def raw_bytes(t):
    t = t.detach().contiguous()
    return t.view(BITS_AS_INT.get(t.dtype, t.dtype)).numpy().tobytes()


def json_number(value):
    """JSON has no infinities; they travel as the strings 'inf' and '-inf'."""
    return repr(value) if isinstance(value, float) and not math.isfinite(value) else value


def describe(t):
    t = t.detach()
    info = {
        'dtype': str(t.dtype).replace('torch.', ''),
        'shape': list(t.shape),
        'sha256': hashlib.sha256(raw_bytes(t)).hexdigest(),
        'sum': json_number(float(t.double().sum())),
    }
    if t.numel() <= 64:
        info['values'] = [json_number(v) for v in t.reshape(-1).tolist()]
        info['hex'] = raw_bytes(t).hex()
    return info


def expect(name, tensors):
    expected[name] = {key: describe(t) for key, t in tensors.items()}


def path(name):
    return os.path.join(out, name)


def write_safetensors_by_hand(name, tensors, metadata):
    """The safetensors layout written with struct and json, as the format spec describes it."""
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for key, t in tensors.items():
        data = raw_bytes(t)
        header[key] = {'dtype': SAFETENSORS_CODE[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path(name), 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# A real model's state dict: float32 weights, running statistics, int64 num_batches_tracked.
resnet = torchvision.models.resnet18(num_classes=10)
resnet.train()
with torch.no_grad():
    resnet(torch.randn(2, 3, 32, 32))
resnet_sd = resnet.state_dict()
torch.save(resnet_sd, path('resnet18.pth'))
expect('resnet18.pth', resnet_sd)
expected['resnet18.pth:order'] = list(resnet_sd.keys())
write_safetensors_by_hand('resnet18.safetensors', resnet_sd, {'format': 'pt', 'source': 'make_checkpoints.py'})

# Views: tensors sharing one storage, non-contiguous strides, an expanded (stride 0) view, a 0-d view, an empty tensor.
a = torch.arange(10.0)
m = torch.arange(12.0).reshape(3, 4)
cube = torch.arange(24).reshape(2, 3, 4)
views = {
    'a': a,
    'x': a[2:5],
    'y': a[::2],
    'mt': m.t(),
    'cols': m[:, 1:3],
    'expanded': torch.tensor([1.0, 2.0, 3.0]).expand(2, 3),
    'permuted': cube.permute(2, 0, 1)[1:, :, 1:],
    'scalar': torch.arange(6.0)[4],
    'empty': torch.empty(0, 3),
}
torch.save(views, path('views.pth'))
expect('views.pth', views)

dtypes = {
    'f32': torch.tensor([1.5, -2.25, 3.0e38, 1.0e-45], dtype=torch.float32),
    'f64': torch.tensor([[0.1, -1.0e300], [5e-324, 2.0]], dtype=torch.float64),
    'f16': torch.tensor([0.5, -2.0, 65504.0, 6.0e-8, float('inf')], dtype=torch.float16),
    'bf16': torch.tensor([1.5, -3.25, 1.0e30, float('-inf')], dtype=torch.bfloat16),
    'i64': torch.tensor([-(2**62), 2**53 - 1, -1], dtype=torch.int64),
    'i32': torch.tensor([[-(2**31), 2**31 - 1, 7]], dtype=torch.int32),
    'i16': torch.tensor([-32768, 32767], dtype=torch.int16),
    'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
    'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
    'bool': torch.tensor([[True, False], [False, True]]),
}
torch.save(dtypes, path('dtypes.pth'))
expect('dtypes.pth', dtypes)
write_safetensors_by_hand('dtypes.safetensors', dtypes, {})

linear_sd = torch.nn.Linear(3, 2).state_dict()
expect('linear', linear_sd)
nested = {
    'model': linear_sd,
    'epoch': 3,
    'lr': 0.1,
    'name': 'x',
    'tup': (1, 2),
    'big': 2**70,
    'neg': -123456789012,
    'none': None,
    'flag': True,
    'raw': b'\x00\xffab',
    'empty_bytes': b'',
    'floats': [1.5, -0.0, float('inf')],
    'set': {7},
    'unicode': 'h\u00e9llo \u2713',
    'dtype': torch.float16,
    'size': torch.Size([2, 3]),
    'device': torch.device('cuda', 1),
}
torch.save(nested, path('nested.pth'))
for protocol in [1, 2, 3, 4, 5]:
    torch.save(nested, path(f'nested_p{protocol}.pth'), pickle_protocol=protocol)
plain = {key: value for key, value in nested.items() if key != 'model' and not isinstance(value, (torch.dtype, torch.device))}
torch.save(plain, path('plain_p0.pth'), pickle_protocol=0)


class TensorWithAttributes:
    """Pickles like torch 2.x pickles a tensor carrying Python attributes."""

    def __init__(self, t):
        self.t = t

    def __reduce__(self):
        func, args = self.t._reduce_ex_internal(2)
        return (torch._tensor._rebuild_from_type_v2, (func, torch.Tensor, args, {'foo': 1}))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    raise AssertionError('only pickled, never called')


# torch 1.13 lacks this torch 2.x rebuild function; stand one in under its real name so pickle writes that name.
_rebuild_parameter_with_state.__module__ = 'torch._utils'
torch._utils._rebuild_parameter_with_state = _rebuild_parameter_with_state


class ParameterWithState:
    def __init__(self, t):
        self.t = t

    def __reduce__(self):
        return (_rebuild_parameter_with_state, (self.t, True, collections.OrderedDict(), {'tag': 'x'}))


w = torch.nn.Parameter(torch.randn(3, 4))
frozen = torch.nn.Parameter(torch.ones(2, dtype=torch.float64), requires_grad=False)
attrs = torch.arange(6.0).reshape(2, 3)
stateful = torch.randn(5)
torch.save({'w': w, 'frozen': frozen, 'attrs': TensorWithAttributes(attrs), 'stateful': ParameterWithState(stateful)}, path('params.pth'))
expect('params.pth', {'w': w, 'frozen': frozen, 'attrs': attrs, 'stateful': stateful})


class Evil:
    def __init__(self, func, *args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (self.func, self.args)


marker = path('pwned')
torch.save({'x': Evil(os.system, f'touch {marker}')}, path('evil_system.pth'))
torch.save({'x': Evil(os.system, f'touch {marker}')}, path('evil_system_p4.pth'), pickle_protocol=4)
torch.save({'w': torch.ones(2), 'x': Evil(eval, f"__import__('os').system('touch {marker}')")}, path('evil_eval.pth'))
torch.save({'x': Evil(torch.storage._load_from_bytes, b'not a checkpoint')}, path('evil_load_from_bytes.pth'))
torch.save(torch.nn.Linear(2, 2), path('whole_module.pth'))

# Views that reach outside their storage, written with real persistent ids.
storage = torch.arange(10.0).storage()
hooks = collections.OrderedDict()
rebuild = torch._utils._rebuild_tensor_v2
torch.save({'t': Evil(rebuild, storage, 0, (11,), (1,), False, hooks)}, path('oob_size.pth'))
torch.save({'t': Evil(rebuild, storage, 8, (3,), (1,), False, hooks)}, path('oob_offset.pth'))
torch.save({'t': Evil(rebuild, storage, 0, (2, 3), (5, 3), False, hooks)}, path('oob_stride.pth'))
torch.save({'t': Evil(rebuild, storage, 0, (2, 5), (5, 1), False, hooks)}, path('fits.pth'))

torch.save(linear_sd, path('legacy.pth'), _use_new_zipfile_serialization=False)
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path('script.pt'))

# Same-width storages (float32, int32), so a byte swap of every storage turns the archive big-endian.
four_byte = {'w': torch.randn(3, 4), 'i': torch.arange(5, dtype=torch.int32) - 2, 'v': torch.randn(10)[2:7]}
torch.save(four_byte, path('four_byte.pth'))
expect('four_byte', four_byte)


def entries(name):
    with zipfile.ZipFile(path(name)) as z:
        return [(info.filename, z.read(info.filename)) for info in z.infolist()]


def swap4(data):
    return b''.join(data[i:i + 4][::-1] for i in range(0, len(data), 4))


# Written by Python's zipfile (deflate, under another top folder, as torch 2.x names it 'archive/').
with zipfile.ZipFile(path('bigendian.pth'), 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for name, data in entries('four_byte.pth'):
        inner = 'archive/' + name.split('/', 1)[1]
        if '/data/' in name:
            data = swap4(data)
        z.writestr(inner, data)
    z.writestr('archive/byteorder', 'big')


def write_zip64(name, files):
    """A stored zip whose every size and offset goes through zip64 extra fields and a zip64 end record."""
    blob = bytearray()
    central = bytearray()
    for filename, data in files:
        encoded = filename.encode()
        crc = zipfile.crc32(data)
        offset = len(blob)
        local_extra = struct.pack('<HHQQ', 1, 16, len(data), len(data))
        blob += struct.pack('<IHHHHHIIIHH', 0x04034B50, 45, 0x800, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(local_extra))
        blob += encoded + local_extra + data
        extra = struct.pack('<HHQQQ', 1, 24, len(data), len(data), offset)
        central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014B50, 45, 45, 0x800, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(encoded), len(extra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += encoded + extra
    directory_offset = len(blob)
    blob += central
    zip64_end = len(blob)
    blob += struct.pack('<IQHHIIQQQQ', 0x06064B50, 44, 45, 45, 0, 0, len(files), len(files), len(central), directory_offset)
    blob += struct.pack('<IIQI', 0x07064B50, 0, zip64_end, 1)
    blob += struct.pack('<IHHHHIIH', 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path(name), 'wb') as f:
        f.write(blob)


write_zip64('zip64.pth', entries('four_byte.pth'))

with open(path('expected.json'), 'w') as f:
    json.dump(expected, f, allow_nan=False)
