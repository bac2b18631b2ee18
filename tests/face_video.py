# SPDX-License-Identifier: GPL-3.0-or-later
"""A synthetic face for the webcam tracking tests: a shaded ellipsoid head with
painted eyes, brows, nose shadow, lips and hair, ray-cast at known angles and
expressions, written as a .y4m video for Chromium's fake camera."""

import numpy as np
import cv2
import math


def rot(yaw, pitch, roll):
    y, p, r = map(math.radians, (yaw, pitch, roll))
    Ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    Rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    Rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return Rz @ Rx @ Ry


def render(w=320, h=240, yaw=0, pitch=0, roll=0, eye_open=1.0, mouth_open=0.0, scale=0.33):
    A = np.array([0.78, 1.0, 0.85])  # semi-axes: x, y (up), z (toward camera)
    R = rot(yaw, pitch, roll)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px = (xs - w / 2) / (h * scale)
    py = -(ys - h / 2) / (h * scale)
    # orthographic rays along -z in camera space; head space: q = R^T c
    o = np.stack([px, py, np.full_like(px, 5.0)], -1) @ R  # origin in head space
    d = np.array([0, 0, -1.0]) @ R
    oa, da = o / A, d / A
    a = (da * da).sum()
    b = 2 * (oa * da).sum(-1)
    c = (oa * oa).sum(-1) - 1
    disc = b * b - 4 * a * c
    hit = disc > 0
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    p = o + t[..., None] * d
    n = p / (A * A)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    ncam = n @ R.T
    light = np.array([-0.3, 0.4, 0.85])
    light /= np.linalg.norm(light)
    shade = np.clip((ncam * light).sum(-1), 0, 1) * 0.75 + 0.25
    X, Y, Z = p[..., 0], p[..., 1], p[..., 2]
    skin = np.array([224, 180, 150], np.float64)
    col = np.broadcast_to(skin, (h, w, 3)).copy()
    front = Z > 0
    # nose: shadow on the lit side's opposite
    nose = front & (np.abs(X - 0.03) < 0.07) & (Y > -0.28) & (Y < 0.08)
    col[nose & (X > 0.03)] *= 0.78
    col[front & (((X / 0.16) ** 2 + ((Y + 0.3) / 0.05) ** 2) < 1)] *= 0.7  # nostrils shade
    for sx in (-1, 1):
        ex, ey = sx * 0.3, 0.12
        r2 = ((X - ex) / 0.17) ** 2 + ((Y - ey) / (0.085 * max(eye_open, 0.05))) ** 2
        eye = front & (r2 < 1)
        col[eye] = (245, 245, 245)
        iris = eye & (((X - ex) ** 2 + (Y - ey) ** 2) < 0.07**2)
        col[iris] = (70, 50, 35)
        col[eye & (((X - ex) ** 2 + (Y - ey) ** 2) < 0.03**2)] = (10, 10, 10)
        lid = front & (np.abs(r2 - 1) < 0.35) & (Y > ey - 0.01 if eye_open > 0.2 else np.abs(r2 - 1) < 0.5)
        col[lid] = (40, 30, 30)
        brow = front & (((X - ex) / 0.2) ** 2 + ((Y - ey - 0.2) / 0.035) ** 2 < 1)
        col[brow] = (60, 40, 30)
    my = -0.52
    lips = front & (((X / 0.26) ** 2 + ((Y - my) / (0.06 + 0.12 * mouth_open)) ** 2) < 1)
    col[lips] = (175, 80, 80)
    if mouth_open > 0.05:
        inner = front & (((X / 0.2) ** 2 + ((Y - my) / (0.1 * mouth_open + 0.005)) ** 2) < 1)
        col[inner] = (50, 15, 20)
    else:
        col[front & (np.abs(Y - my) < 0.012) & (np.abs(X) < 0.24)] = (110, 40, 45)
    hair = (Y > 0.45) | ((Z < 0.1) & (Y > -0.2))
    col[hair] = (50, 35, 25)
    img = np.zeros((h, w, 3), np.float64)
    img[:] = (150, 160, 170)
    img[hit] = (col * shade[..., None])[hit]
    return np.clip(img, 0, 255).astype(np.uint8)


def write_y4m(path, frames, fps=30):
    """Frames (RGB uint8, H x W x 3, even sizes) -> a YUV 4:2:0 .y4m file."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
            fh.write(b"FRAME\n")
            fh.write(yuv.tobytes())
    return path
