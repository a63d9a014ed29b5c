import ast
import base64
import hashlib
import sys
import zipfile

from export.edge_wheel import EXTRAS, REQUIRES, modules, write_edge_wheel


def test_wheel_holds_the_tensorflow_free_modules_and_a_valid_record(tmp_path):
    path = write_edge_wheel(tmp_path)
    assert path.name.startswith("siam_keras_edge-") and path.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/RECORD"))
        assert sorted(n for n in names if not n.startswith(info)) == sorted(
            f"siam_keras/{m}" for m in modules())
        assert "siam_keras/runtime/explanation.py" in names and "siam_keras/edge/cli.py" in names
        metadata = wheel.read(f"{info}/METADATA").decode()
        for requirement in REQUIRES:
            assert f"Requires-Dist: {requirement}" in metadata
        assert 'Provides-Extra: parquet\nRequires-Dist: pyarrow>=14; extra == "parquet"' in metadata
        assert "tensorflow" not in metadata and "keras" not in metadata.replace("siam-keras", "")
        assert b"siam-edge = siam_keras.edge.cli:main" in wheel.read(f"{info}/entry_points.txt")
        for line in wheel.read(f"{info}/RECORD").decode().splitlines():
            name, digest, size = line.split(",")
            if name.endswith("RECORD"):
                continue
            data = wheel.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
        imported = set()
        for module in modules():
            for node in ast.walk(ast.parse(wheel.read(f"siam_keras/{module}"))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
                    if node.module.startswith("siam_keras."):  # library imports stay inside
                        target = node.module.split(".", 1)[1].replace(".", "/")
                        assert f"{target}.py" in modules() or f"{target}/__init__.py" in modules(), (
                            module, node.module)
        optional = {"pyarrow"}  # EXTRAS["parquet"], imported only for a Parquet table
        assert set(EXTRAS) == {"parquet"}
        assert imported - set(sys.stdlib_module_names) == {"numpy", "PIL", "ai_edge_litert",
                                                           "siam_keras", *optional}
    assert write_edge_wheel(tmp_path).read_bytes() == path.read_bytes()  # reproducible
