# SPDX-License-Identifier: GPL-3.0-or-later
"""Clipping masks (``Layer.clip_to``) in Blender, per pixel as core/runtime/render.py does.

The reference renderer multiplies a clipped layer (irides) by the *rendered*
alpha of its clip layer (the eye white) at the same pose.  Blender has no
stencil between objects, so each clipped mesh gets a Geometry Nodes modifier
("i2r clip", last in its stack, after the lattices and the armature):

1. the deformed mesh is subdivided (``level`` chosen at build so triangles
   are about CLIP_EDGE_PX on screen; the texture UVs are interpolated);
2. both it and the deformed clip mesh (Object Info, relative space) are
   flattened onto the picture plane;
3. every vertex takes the clip mesh's UV at the same screen point (Sample
   Nearest Surface, exact where it lies on the clip mesh) into the point
   attribute ``i2r_clip_uv``, and ``i2r_clip_hit`` = 1 where it lies on the
   clip mesh (0 outside: the rendered clip alpha is 0 there);
4. the material multiplies its alpha by clip texture alpha at ``i2r_clip_uv``
   times ``i2r_clip_hit``.

Between vertices the clip UV is interpolated linearly; the clip mesh's own
screen -> UV map is piecewise linear over its triangles, so the error shrinks
with the subdivision (about a pixel's worth at the clip mesh's edges).
The modifier, its node group and the extra material nodes are helper data:
gather reads the original mesh and the layer's own image only.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from . import keys as K

CLIP_GROUP = "i2r clip"
CLIP_MODIFIER = "i2r clip"
CLIP_UV = "i2r_clip_uv"
CLIP_HIT = "i2r_clip_hit"
CLIP_EDGE_PX = 1.5  # target triangle edge on screen after subdivision
MAX_LEVEL = 5
MAX_FACES = 150_000  # cap of the subdivided mesh (viewport playback stays smooth)
HIT_DISTANCE = 1e-5  # metres on the picture plane (0.001 px)
UV_MAP = "layer"  # name of the texture UV map of every rig mesh (scene/build.py)


def subdivision_level(vertices: np.ndarray, triangles: np.ndarray, uvs=None) -> int:
    """Subdivision level that brings the mean triangle edge to ~CLIP_EDGE_PX.

    The larger of the rest shape and the drawn shape (uvs, in pixels) counts:
    some parts rest collapsed and open up with a parameter."""
    tris = np.asarray(triangles).reshape(-1, 3)
    if len(tris) == 0:
        return 0
    mean = 0.0
    for points in (vertices, uvs):
        if points is None:
            continue
        p = np.asarray(points, np.float64)[tris]
        mean = max(mean, float(np.linalg.norm(p - np.roll(p, 1, axis=1), axis=2).mean()))
    if mean <= CLIP_EDGE_PX:
        return 0
    level = int(min(MAX_LEVEL, math.ceil(math.log2(mean / CLIP_EDGE_PX))))
    while level > 0 and len(tris) * 4**level > MAX_FACES:
        level -= 1
    return level


def clip_node_group():
    """The shared node group (created once per file)."""
    ng = bpy.data.node_groups.get(CLIP_GROUP)
    if ng is not None and ng.get("i2r_clip_version") == 1:
        return ng
    if ng is None:
        ng = bpy.data.node_groups.new(CLIP_GROUP, "GeometryNodeTree")
    ng.nodes.clear()
    ng.interface.clear()
    ng["i2r_clip_version"] = 1
    ng.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    ng.interface.new_socket("Clip", in_out="INPUT", socket_type="NodeSocketObject")
    level = ng.interface.new_socket("Level", in_out="INPUT", socket_type="NodeSocketInt")
    level.min_value, level.max_value, level.default_value = 0, MAX_LEVEL, 0
    ng.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = ng.nodes, ng.links
    group_in = nodes.new("NodeGroupInput")
    group_out = nodes.new("NodeGroupOutput")

    def flat_position():
        pos = nodes.new("GeometryNodeInputPosition")
        mul = nodes.new("ShaderNodeVectorMath")
        mul.operation = "MULTIPLY"
        mul.inputs[1].default_value = (1.0, 0.0, 1.0)
        links.new(pos.outputs[0], mul.inputs[0])
        return mul.outputs[0]

    subdivide = nodes.new("GeometryNodeSubdivideMesh")
    links.new(group_in.outputs["Geometry"], subdivide.inputs["Mesh"])
    links.new(group_in.outputs["Level"], subdivide.inputs["Level"])
    info = nodes.new("GeometryNodeObjectInfo")
    info.transform_space = "RELATIVE"
    links.new(group_in.outputs["Clip"], info.inputs["Object"])
    flatten = nodes.new("GeometryNodeSetPosition")
    links.new(info.outputs["Geometry"], flatten.inputs["Geometry"])
    links.new(flat_position(), flatten.inputs["Position"])
    uv = nodes.new("GeometryNodeInputNamedAttribute")
    uv.data_type = "FLOAT_VECTOR"
    uv.inputs["Name"].default_value = UV_MAP
    sample = nodes.new("GeometryNodeSampleNearestSurface")
    sample.data_type = "FLOAT_VECTOR"
    links.new(flatten.outputs[0], sample.inputs["Mesh"])
    links.new(uv.outputs["Attribute"], sample.inputs["Value"])
    links.new(flat_position(), sample.inputs["Sample Position"])
    proximity = nodes.new("GeometryNodeProximity")
    proximity.target_element = "FACES"
    links.new(flatten.outputs[0], proximity.inputs[0])
    links.new(flat_position(), proximity.inputs[2])
    near = nodes.new("ShaderNodeMath")
    near.operation = "LESS_THAN"
    near.inputs[1].default_value = HIT_DISTANCE
    links.new(proximity.outputs["Distance"], near.inputs[0])
    store_uv = nodes.new("GeometryNodeStoreNamedAttribute")
    store_uv.data_type = "FLOAT_VECTOR"
    store_uv.domain = "POINT"
    store_uv.inputs["Name"].default_value = CLIP_UV
    links.new(subdivide.outputs[0], store_uv.inputs["Geometry"])
    links.new(sample.outputs["Value"], store_uv.inputs["Value"])
    store_hit = nodes.new("GeometryNodeStoreNamedAttribute")
    store_hit.data_type = "FLOAT"
    store_hit.domain = "POINT"
    store_hit.inputs["Name"].default_value = CLIP_HIT
    links.new(store_uv.outputs[0], store_hit.inputs["Geometry"])
    links.new(near.outputs[0], store_hit.inputs["Value"])
    links.new(store_hit.outputs[0], group_out.inputs[0])
    return ng


def add_clip_modifier(obj, clip_object, level: int):
    """Append the clip modifier to a mesh object (after its deformers)."""
    mod = obj.modifiers.new(name=CLIP_MODIFIER, type="NODES")
    mod.node_group = clip_node_group()
    items = {
        item.name: item.identifier
        for item in mod.node_group.interface.items_tree
        if getattr(item, "in_out", "") == "INPUT"
    }
    mod[items["Clip"]] = clip_object
    mod[items["Level"]] = int(level)
    obj[K.CLIP_OBJECT] = clip_object.name
    return mod


def add_clip_to_material(mat, clip_image) -> None:
    """Multiply the material's alpha by the clip texture's alpha at i2r_clip_uv."""
    nt = mat.node_tree
    mix = next(n for n in nt.nodes if n.type == "MIX_SHADER")
    fac_link = mix.inputs["Fac"].links[0]
    alpha = fac_link.from_socket
    attr_uv = nt.nodes.new("ShaderNodeAttribute")
    attr_uv.attribute_type = "GEOMETRY"
    attr_uv.attribute_name = CLIP_UV
    attr_uv.location = (-900, -350)
    attr_hit = nt.nodes.new("ShaderNodeAttribute")
    attr_hit.attribute_type = "GEOMETRY"
    attr_hit.attribute_name = CLIP_HIT
    attr_hit.location = (-600, -550)
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = clip_image
    tex.interpolation = "Linear"
    tex.extension = "CLIP"
    tex.location = (-600, -350)
    tex.label = "clip mask"
    tex[K.CLIP_MASK] = True
    nt.links.new(attr_uv.outputs["Vector"], tex.inputs["Vector"])
    mask = nt.nodes.new("ShaderNodeMath")
    mask.operation = "MULTIPLY"
    mask.location = (-300, -350)
    nt.links.new(tex.outputs["Alpha"], mask.inputs[0])
    nt.links.new(attr_hit.outputs["Fac"], mask.inputs[1])
    total = nt.nodes.new("ShaderNodeMath")
    total.operation = "MULTIPLY"
    total.location = (-150, 250)
    nt.links.new(alpha, total.inputs[0])
    nt.links.new(mask.outputs[0], total.inputs[1])
    nt.links.new(total.outputs[0], mix.inputs["Fac"])
    mat[K.CLIP_TO] = clip_image.get(K.LAYER, "")


def clip_modifiers(objects) -> list:
    return [
        m
        for o in objects
        if o.type == "MESH"
        for m in o.modifiers
        if m.type == "NODES" and m.name == CLIP_MODIFIER
    ]
