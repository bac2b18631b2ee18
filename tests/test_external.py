# SPDX-License-Identifier: GPL-3.0-or-later
"""External layered decomposition: a configured command writes a PSD we rig."""

import os
import sys
import textwrap

import cv2
import pytest

from image_to_rig.core.backends.external import ExternalCommandError, available, run_external_decomposition
from image_to_rig.core.model.document import RIG_MADE_ROLES
from image_to_rig.core.pipeline import PipelineOptions, run_pipeline
from image_to_rig.devkit.sample import make_sample

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fake_see_through(tmp_path_factory):
    """A stand-in for a See-through install: writes the sample's true layers as a PSD."""
    folder = tmp_path_factory.mktemp("see-through")
    script = folder / "decompose.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.join(REPO, 'tests')!r})
        import conftest
        from image_to_rig.devkit.sample import make_sample
        from image_to_rig.core.formats.psd_out import write_psd
        args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        if "fail" in args["--image"]:
            print("CUDA out of memory", file=sys.stderr)
            sys.exit(3)
        sample = make_sample(384)
        write_psd(sample.layers, sample.canvas, args["--out"])
    """)
    )
    image = folder / "girl.png"
    cv2.imwrite(str(image), cv2.cvtColor(make_sample(384).image, cv2.COLOR_RGBA2BGRA))
    return f'"{sys.executable}" "{script}" --image {{input}} --out {{output}}', str(image)


def test_pipeline_rigs_the_external_psd(fake_see_through):
    command, image = fake_see_through
    result = run_pipeline(image, PipelineOptions(external_command=command))
    doc = result.doc
    doc.validate()
    assert result.found["input"] == "external decomposition"
    assert doc.source == image
    truth = [l.id for l in make_sample(384).layers]
    # the drawn layers in order; what the pipeline adds (mouth interior, closed lids,
    # blush, underlays) comes on top
    assert [l.id for l in doc.layers if not l.generated and l.role not in RIG_MADE_ROLES] == truth
    assert "external" in [t.name for t in result.timings]


def test_command_failures_are_plain(fake_see_through, tmp_path):
    command, image = fake_see_through
    failing = tmp_path / "fail.png"
    failing.write_bytes(open(image, "rb").read())
    with pytest.raises(ExternalCommandError, match=r"exit code 3\)(.|\n)*CUDA out of memory"):
        run_pipeline(str(failing), PipelineOptions(external_command=command))
    with pytest.raises(ExternalCommandError, match="must contain {output}"):
        run_external_decomposition("see-through {input}", image)
    ok, why = available("/nowhere/see-through --in {input} --out {output}")
    assert not ok and "does not exist" in why
    silent = f'"{sys.executable}" -c "print(1)" {{input}} {{output_dir}}'
    with pytest.raises(ExternalCommandError, match="wrote no .psd"):
        run_external_decomposition(silent, image, str(tmp_path))


def test_slow_command_is_stopped(fake_see_through, tmp_path):
    _, image = fake_see_through
    slow = f'"{sys.executable}" -c "import time; time.sleep(30)" {{input}} {{output}}'
    with pytest.raises(ExternalCommandError, match="did not finish"):
        run_external_decomposition(slow, image, str(tmp_path), timeout=1.0)


def test_generate_operator_uses_the_configured_command(fake_see_through, monkeypatch):
    from blender_support import ensure_addon_registered, reset_blender
    import bpy

    from image_to_rig import preferences
    from image_to_rig.operators import generate

    command, image = fake_see_through
    reset_blender()
    ensure_addon_registered()

    class Prefs:  # what the add-on preferences hold on the user's machine
        models_dir = ""
        device = "AUTO"
        external_command = command

    monkeypatch.setattr(preferences, "get_prefs", lambda context=None: Prefs())
    ai = bpy.context.scene.image_to_rig_ai
    assert generate.pipeline_options(bpy.context, True, 1.0).external_command == ""
    ai.use_external = True
    options = generate.pipeline_options(bpy.context, True, 1.0)
    assert options.external_command == command
    armatures = len(bpy.data.armatures)
    settings = bpy.context.scene.image_to_rig
    settings.image_path = image
    assert bpy.ops.image_to_rig.generate() == {"FINISHED"}
    assert len(bpy.data.armatures) == armatures + 1
