// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The 68-point landmark net's forward pass, written for the webcam tracker on
// the weights face-api has loaded (faceLandmark68TinyNet, vendored with its
// weights in web/vendor/face-api): three dense blocks of depthwise-separable
// convolutions (the first block opens with a plain 3 x 3 convolution), each
// halving the map (112 -> 56 -> 28 -> 14) and summing its three convolutions'
// outputs, then a 14 x 14 average pool and a fully connected layer to 68
// (x, y) pairs in [0, 1] of the crop.
//
// Why not face-api's own detectLandmarks: on TensorFlow.js's wasm backend its
// input path (pixels -> tensor, then the mean subtracted by concatenating
// three filled planes) cost as much as the convolutions, and every bias and
// ReLU ran as its own kernel.  Here the crop's pixels are normalised in one
// pass in JavaScript and each bias and ReLU rides on its convolution
// (tf.fused.conv2d): the same landmarks (within 1e-4 px, tests/
// test_face_tracking.py) in about half the time (bench/bench_player.py).

export const LANDMARK_INPUT = 112; // the net's input; its average pool covers the 14 x 14 map (fixed)
const MEAN_RGB = [122.782, 117.001, 104.298]; // the net's training mean, subtracted before dividing by 255

/**
 * The net's input from the top-left LANDMARK_INPUT square of a 2D context:
 * (pixel - MEAN_RGB) / 255 per channel, as a [1, 112, 112, 3] tensor.
 * `scratch` (a Float32Array of 112 * 112 * 3) is reused between frames.
 */
export function landmarkInput(tf, ctx, scratch) {
  const px = ctx.getImageData(0, 0, LANDMARK_INPUT, LANDMARK_INPUT).data;
  const [r, g, b] = MEAN_RGB;
  for (let i = 0, j = 0; i < px.length; i += 4, j += 3) {
    scratch[j] = (px[i] - r) / 255;
    scratch[j + 1] = (px[i + 1] - g) / 255;
    scratch[j + 2] = (px[i + 2] - b) / 255;
  }
  return tf.tensor4d(scratch, [1, LANDMARK_INPUT, LANDMARK_INPUT, 3]);
}

/** A depthwise 3 x 3 then a pointwise convolution with its bias (and ReLU when asked). */
function separable(tf, x, p, stride, activation) {
  const depthwise = tf.depthwiseConv2d(x, p.depthwise_filter, stride, "same");
  return tf.fused.conv2d({ x: depthwise, filter: p.pointwise_filter, strides: 1, pad: "same", bias: p.bias, activation });
}

/** One dense block: out1 halves the map; out = relu(out1 + out2 + out3), out3 reading relu(out1 + out2). */
function denseBlock(tf, x, p, first) {
  const out1 = first
    ? tf.fused.conv2d({ x, filter: p.conv0.filters, strides: 2, pad: "same", bias: p.conv0.bias, activation: "relu" })
    : separable(tf, x, p.conv0, 2, "relu");
  const out2 = separable(tf, out1, p.conv1, 1, "linear");
  const out3 = separable(tf, tf.relu(tf.add(out1, out2)), p.conv2, 1, "linear");
  return tf.relu(tf.add(out1, tf.add(out2, out3)));
}

/** The net's 136 outputs (x0, y0, x1, y1, ... in [0, 1] of the crop) for one input tensor. */
export function landmarkForward(tf, net, input) {
  const features = net.faceFeatureExtractor.params, fc = net.params && net.params.fc;
  if (!features || !fc) throw new Error("face tracking: the landmark net's weights are not loaded");
  return tf.tidy(() => {
    let y = denseBlock(tf, input, features.dense0, true);
    y = denseBlock(tf, y, features.dense1, false);
    y = denseBlock(tf, y, features.dense2, false);
    y = tf.avgPool(y, [14, 14], [2, 2], "valid");
    return tf.add(tf.matMul(tf.reshape(y, [1, -1]), fc.weights), fc.bias);
  });
}

/**
 * 68 landmarks [x, y] in pixels of the LANDMARK_INPUT crop drawn in `ctx`,
 * from face-api's loaded faceLandmark68TinyNet.
 */
export class LandmarkNet {
  constructor(faceapi) {
    this.tf = faceapi.tf;
    this.net = faceapi.nets.faceLandmark68TinyNet;
    this.scratch = new Float32Array(LANDMARK_INPUT * LANDMARK_INPUT * 3);
  }

  async detect(ctx) {
    const input = landmarkInput(this.tf, ctx, this.scratch);
    let out;
    try {
      out = landmarkForward(this.tf, this.net, input);
    } finally {
      input.dispose();
    }
    try {
      const d = await out.data();
      const points = new Array(68);
      for (let i = 0; i < 68; i++) points[i] = [d[2 * i] * LANDMARK_INPUT, d[2 * i + 1] * LANDMARK_INPUT];
      return points;
    } finally {
      out.dispose();
    }
  }
}
