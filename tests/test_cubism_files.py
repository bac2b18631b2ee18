# SPDX-License-Identifier: GPL-3.0-or-later
"""Cubism interchange files: valid against the specifications' schemas, counts right."""

import json

import jsonschema
import numpy as np
import pytest

from image_to_rig.core.formats.cubism_json import check_motion3_counts, cdi3, exp3, interchange_files, motion3
from image_to_rig.core.model.document import Motion, MotionCurve, Parameter

from test_document import small_doc

from conftest import cubism_schema as schema


def doc_with_motion():
    doc = small_doc()
    doc.parameters.append(Parameter("ParamMouthForm", -1, 0, 1, group="mouth"))
    doc.motions.append(
        Motion(
            "Talk",
            1.5,
            [MotionCurve("ParamMouthForm", np.array([0, 0.5, 1.5]), np.array([0, 1, -1.0]))],
            loop=False,
        )
    )
    doc.motions[0].strength = 0.5
    return doc


def test_motion3_valid_and_counts_match():
    doc = doc_with_motion()
    for motion in doc.motions:
        data = motion3(doc, motion)
        jsonschema.validate(data, schema("motion3"))
        check_motion3_counts(data)
    talk = motion3(doc, doc.motions[1])
    assert talk["Meta"]["TotalSegmentCount"] == 2 and talk["Meta"]["TotalPointCount"] == 3
    assert talk["Curves"][0]["Segments"] == [0.0, 0.0, 0, 0.5, 1.0, 0, 1.5, -1.0]
    idle = motion3(doc, doc.motions[0])
    assert idle["Curves"][0]["Segments"][4] == 5.0  # strength 0.5 halves the 10 degrees
    broken = json.loads(json.dumps(talk))
    broken["Meta"]["TotalPointCount"] = 4
    with pytest.raises(ValueError, match="do not match"):
        check_motion3_counts(broken)


def test_expressions_and_display_info_valid():
    doc = doc_with_motion()
    files = interchange_files(doc, "girl")
    assert "motions/Idle.motion3.json" in files and "girl.cdi3.json" in files
    for path, data in files.items():
        kind = path.rsplit(".", 2)[-2]
        jsonschema.validate(data, schema(kind))
    smile = exp3(doc, "smile")
    assert smile["Parameters"] == [{"Id": "ParamMouthForm", "Value": 1.0, "Blend": "Add"}]
    info = cdi3(doc)
    assert [p["Id"] for p in info["Parameters"]] == [p.id for p in doc.parameters]
    assert {g["Id"] for g in info["ParameterGroups"]} == {p["GroupId"] for p in info["Parameters"]}
