// SPDX-License-Identifier: GPL-3.0-or-later OR MIT

/** A model.json (or its atlas) is not usable; the message says what and where. */
export class ModelError extends Error {
  constructor(message) {
    super(message);
    this.name = "ModelError";
  }
}
