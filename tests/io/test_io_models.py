"""skequiv.io.load_model: programs, state dicts, factories, and refused files."""

import importlib
import io
import json
import os
import pickle
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from skequiv import NetworkActivations
from skequiv.io import UnsafeFileError, load_model
from skequiv.io._unpickling import no_unpickling

torch = pytest.importorskip("torch")


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 8),
        torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh()),
        torch.nn.Linear(4, 1),
    ).eval()


LAYERS = ("1", "2.0", "output")
X = np.random.default_rng(0).normal(size=(53, 2))


def export(net, path, batch=7, dynamic=None):
    program = torch.export.export(net, (torch.zeros(batch, 2),), dynamic_shapes=dynamic)
    torch.export.save(program, path)
    return path


# -- torch.export programs ----------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "batches"),
    [
        (None, (7, 7)),  # static: 53 samples run as 8 batches of 7, one padded
        ({}, (1, None)),
        ({"min": 3, "max": 10}, (3, 10)),  # a bounded range: 53 = 5 x 10 + 3
    ],
    ids=["static", "dynamic", "range"],
)
def test_programs_give_the_modules_activations_and_jacobians(tmp_path, bounds, batches):
    net = tiny_net()
    dynamic = None if bounds is None else ({0: torch.export.Dim("batch", **bounds)},)
    model = load_model(export(net, tmp_path / "m.pt2", dynamic=dynamic))
    assert model.format == "torch.export program"
    assert model.input_shape == (2,) and model.dtype == torch.float32
    assert model.batch_sizes == batches
    assert model.static_batch == (7 if batches == (7, 7) else None)

    reference = NetworkActivations(net, layers=LAYERS).fit(X)
    loaded = NetworkActivations(model.module, layers=LAYERS, dtype=model.dtype).fit(X)
    np.testing.assert_allclose(loaded.transform(X), reference.transform(X), atol=1e-6)
    np.testing.assert_allclose(loaded.jacobian(X), reference.jacobian(X), atol=1e-6)
    # the layer names are the exported module's
    assert [n for n, _ in model.module.named_modules()] == [
        n for n, _ in net.named_modules()
    ]


def test_program_layers_unknown_to_the_module_are_reported(tmp_path):
    model = load_model(export(tiny_net(), tmp_path / "m.pt2"))
    with pytest.raises(ValueError, match=r"Unknown layer 'conv'.*'2\.0'"):
        NetworkActivations(model.module, layers=("conv",)).fit(X)


def test_program_copies_share_the_program(tmp_path):
    import copy

    model = load_model(export(tiny_net(), tmp_path / "m.pt2"))
    clone = copy.deepcopy(model.module)
    assert clone is not model.module and clone.program is model.module.program
    np.testing.assert_array_equal(
        clone(torch.ones(3, 2)).detach(), model.module(torch.ones(3, 2)).detach()
    )


# -- hostile files --------------------------------------------------------------


def torch_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_hostile_pickle_as_pt_is_refused_and_never_runs(tmp_path, hostile_object):
    marker = tmp_path / "ran"
    path = tmp_path / "model.pt"
    torch.save(hostile_object(marker), path)
    with pytest.raises(UnsafeFileError, match=r"refused.*torch\.export\.export"):
        load_model(path, model_class=tiny_net)
    assert not marker.exists()
    # the same file with a plain pickle (not torch's format) is refused too
    path.write_bytes(pickle.dumps(hostile_object(marker)))
    with pytest.raises(UnsafeFileError, match="refused"):
        load_model(path, model_class=tiny_net)
    assert not marker.exists()


def test_whole_pickled_module_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(tiny_net(), path)  # what torch.save(model) users have
    with pytest.raises(UnsafeFileError) as info:
        load_model(path, model_class=tiny_net)
    message = str(info.value)
    assert "torch.export.save" in message and "state_dict()" in message
    assert "--model-class" in message and "\n" not in message


def _rewrite(source, target, edit):
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files = edit(files)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


def _member(files, suffix):
    (name,) = [n for n in files if n.endswith(suffix)]
    return name


def _poison_example_inputs(files, payload):
    files[_member(files, "sample_inputs/model.pt")] = torch_bytes(payload)
    return files


def _poison_weight(files, payload):
    name = _member(files, "model_weights_config.json")
    config = json.loads(files[name])
    config["config"]["0.weight"]["use_pickle"] = True
    files[name] = json.dumps(config).encode()
    weight = name.replace("model_weights_config.json", "weight_0")
    files[weight] = torch_bytes(payload)
    return files


def _poison_constant(files, payload):
    name = _member(files, "model_constants_config.json")
    config = json.loads(files[name])
    config["config"]["evil"] = {
        "path_name": "opaque_obj_0",
        "is_param": False,
        "use_pickle": True,
        "tensor_meta": None,
    }
    files[name] = json.dumps(config).encode()
    folder = name.replace("model_constants_config.json", "")
    files[folder + "opaque_obj_0"] = pickle.dumps(payload)
    return files


POISONS = {
    "example_inputs": _poison_example_inputs,
    "pickled_weight": _poison_weight,
    "opaque_constant": _poison_constant,
}


@pytest.fixture
def hostile_program(tmp_path, hostile_object):
    def make(kind):
        marker = tmp_path / f"ran_{kind}"
        payload = hostile_object(marker)
        clean = export(tiny_net(), tmp_path / "clean.pt2")
        path = _rewrite(
            clean, tmp_path / f"{kind}.pt2", lambda f: POISONS[kind](f, payload)
        )
        return path, marker

    return make


@pytest.mark.parametrize("kind", POISONS)
def test_plain_torch_export_load_runs_a_crafted_pt2(hostile_program, kind):
    # why .pt2 files need the guard: torch.export.load unpickles with full
    # pickle (it says so in its docs); the payload only creates a file
    path, marker = hostile_program(kind)
    try:
        torch.export.load(path)
    except Exception:
        pass  # some payloads break the load, after they ran
    assert marker.exists()


@pytest.mark.parametrize("kind", POISONS)
def test_crafted_pt2_is_refused_and_never_runs(hostile_program, kind):
    path, marker = hostile_program(kind)
    with pytest.raises(UnsafeFileError, match="refused"):
        load_model(path)
    assert not marker.exists()


def test_guard_restores_pickle_and_environment():
    saved = (pickle.loads, pickle.load, pickle.Unpickler, torch._C._pickle_load_obj)
    env = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    with pytest.raises(RuntimeError, match="inside"):
        with no_unpickling():
            assert os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] == "1"
            with pytest.raises(Exception, match="full unpickling"):
                pickle.loads(pickle.dumps(1))
            raise RuntimeError("inside")
    after = (pickle.loads, pickle.load, pickle.Unpickler, torch._C._pickle_load_obj)
    assert after == saved
    assert os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD") == env
    assert pickle.loads(pickle.dumps([1, 2])) == [1, 2]


# -- state dicts and factories ------------------------------------------------


def write_module(folder, name, source):
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return name


MODELS_PY = """
    import torch
    from skorch import NeuralNetRegressor


    class Tiny(torch.nn.Module):
        def __init__(self, width=8):
            super().__init__()
            self.hidden = torch.nn.Linear(2, width)
            self.act = torch.nn.Tanh()
            self.out = torch.nn.Linear(width, 1)

        def forward(self, x):
            return self.out(self.act(self.hidden(x)))


    def skorch_net():
        return NeuralNetRegressor(Tiny, module__width=6, max_epochs=5, verbose=0)


    def not_a_model():
        return 42


    def broken():
        raise RuntimeError("no GPU here")


    CONSTANT = 3
"""


@pytest.fixture
def models_module(tmp_path, monkeypatch):
    """A user's model definitions, importable from the current directory."""
    name = f"user_models_{abs(hash(tmp_path)) % 10**8}"
    write_module(tmp_path, name, MODELS_PY)
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def import_from(folder, name):
    """The test's own import of the user's module (load_model imports it alone)."""
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def test_state_dict_of_a_torch_module_with_its_class(tmp_path, models_module):
    module = import_from(tmp_path, models_module)
    torch.manual_seed(1)
    net = module.Tiny().eval()
    torch.save(net.state_dict(), tmp_path / "tiny.pt")
    model = load_model(tmp_path / "tiny.pt", model_class=f"{models_module}:Tiny")
    assert model.format == "state dict" and model.input_shape is None
    assert type(model.module).__name__ == "Tiny" and not model.module.training
    np.testing.assert_array_equal(
        NetworkActivations(model.module, layers=("act", "output")).fit_transform(X),
        NetworkActivations(net, layers=("act", "output")).fit_transform(X),
    )


def test_skorch_module_state_dict_with_a_skorch_factory(tmp_path, models_module):
    module = import_from(tmp_path, models_module)
    net = module.skorch_net().set_params(train_split=None)
    rng = np.random.default_rng(0)
    Xf = rng.normal(size=(64, 2)).astype(np.float32)
    net.fit(Xf, np.sin(Xf[:, :1]))
    net.save_params(f_params=tmp_path / "skorch.pt")  # net.module_'s state dict
    model = load_model(
        tmp_path / "skorch.pt", model_class=f"{models_module}:skorch_net"
    )
    assert type(model.module).__name__ == "Tiny"
    np.testing.assert_allclose(
        NetworkActivations(model.module).fit_transform(X),
        net.predict(X.astype(np.float32)),
        rtol=1e-6,
    )


def test_safetensors_state_dict(tmp_path, models_module):
    safetensors = pytest.importorskip("safetensors.torch")
    net = tiny_net(3)
    safetensors.save_file(net.state_dict(), tmp_path / "tiny.safetensors")
    model = load_model(tmp_path / "tiny.safetensors", model_class=tiny_net)
    assert model.format == "safetensors state dict"
    np.testing.assert_array_equal(
        NetworkActivations(model.module).fit_transform(X),
        NetworkActivations(net).fit_transform(X),
    )


@pytest.mark.parametrize(
    ("model_class", "message"),
    [
        ("no_colon", "must look like 'package.module:Factory'"),
        ("nonexistent_package_xyz:build", "cannot import 'nonexistent_package_xyz'"),
        ("{mod}:Missing", "has no attribute 'Missing'"),
        ("{mod}:CONSTANT", "is a int, not something that can be called"),
        ("{mod}:not_a_model", "returned a int; it must return a torch.nn.Module"),
        ("{mod}:broken", r"calling it failed \(RuntimeError: no GPU here\)"),
    ],
)
def test_bad_factories_are_named(tmp_path, models_module, model_class, message):
    torch.save(tiny_net().state_dict(), tmp_path / "m.pt")
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "m.pt", model_class=model_class.format(mod=models_module))


def test_state_dict_that_does_not_fit_the_class(tmp_path, models_module):
    torch.save(tiny_net().state_dict(), tmp_path / "m.pt")
    with pytest.raises(ValueError) as info:
        load_model(tmp_path / "m.pt", model_class=f"{models_module}:Tiny")
    message = str(info.value)
    assert "does not fit the model built by" in message
    assert "missing: hidden.weight" in message and "unexpected: 0.weight" in message


def test_state_dict_shape_mismatch_is_named(tmp_path):
    torch.save(tiny_net().state_dict(), tmp_path / "m.pt")

    def wider():
        net = tiny_net()
        net[0] = torch.nn.Linear(2, 9)
        return net

    with pytest.raises(ValueError, match=r"0\.weight \(8, 2\) vs \(9, 2\)"):
        load_model(tmp_path / "m.pt", model_class=wider)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"epoch": 3, "model": {"w": 1}}, "a dict whose values are not all tensors"),
        ([1, 2], "found a list"),
    ],
)
def test_files_that_are_not_state_dicts(tmp_path, content, message):
    torch.save(content, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "m.pt", model_class=tiny_net)


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_model(tmp_path / "absent.pt2")
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unknown model file type '\.onnx'"):
        load_model(tmp_path / "m.onnx")
    torch.save(tiny_net().state_dict(), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="holds weights, not the architecture"):
        load_model(tmp_path / "m.pt")
    (tmp_path / "broken.pt2").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a torch\.export program"):
        load_model(tmp_path / "broken.pt2")
    export(tiny_net(), tmp_path / "m.pt2")
    with pytest.raises(ValueError, match="model_class is only for state dicts"):
        load_model(tmp_path / "m.pt2", model_class=tiny_net)


def test_programs_with_several_inputs_are_refused(tmp_path):
    class Two(torch.nn.Module):
        def forward(self, x, y):
            return x + y

    program = torch.export.export(Two(), (torch.zeros(2, 2), torch.zeros(2, 2)))
    torch.export.save(program, tmp_path / "two.pt2")
    with pytest.raises(ValueError, match="takes 2 inputs"):
        load_model(tmp_path / "two.pt2")


def test_a_pickle_named_pt2_is_not_a_program_and_never_runs(
    tmp_path, hostile_object, capfd
):
    marker = tmp_path / "ran"
    torch.save(hostile_object(marker), tmp_path / "renamed.pt2")
    with pytest.raises(ValueError, match=r"not a torch\.export program"):
        load_model(tmp_path / "renamed.pt2")
    assert not marker.exists()
    # torch's own traceback logging is silenced: the message says it all
    assert capfd.readouterr().err == ""
