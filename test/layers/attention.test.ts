/**
 * Attention layers: what cannot be matched is refused with a typed error naming the layer (the
 * numbers themselves are checked against Keras by the fixture cases listed at the end).
 */
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES, matchesKeras, rejects } from "../helpers.js";

// Fixture configs are edited freely here: any key, any depth.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = { [key: string]: any };

function fixture(id: string, weights: string): { json: Json; load: (json: Json) => unknown } {
  const dir = `${FIXTURES}${id}/`;
  const weightBytes = { name: weights, bytes: new Uint8Array(readFileSync(`${dir}${weights}`)) };
  return {
    json: JSON.parse(readFileSync(`${dir}model.json`, "utf8")),
    load: (json) =>
      loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) }, weightBytes),
  };
}

const layer = (json: Json, name: string): Json => json.config.layers.find((l: Json) => l.name === name);

test("MultiHeadAttention refuses attention over the heads axis and unsorted axes", () => {
  const { json, load } = fixture("keras3/mha_options", "model.weights.h5");
  layer(json, "mha_no_bias").config.attention_axes = [2];
  rejects(
    () => load(json),
    "E_UNSUPPORTED",
    /layer "mha_no_bias" \(MultiHeadAttention\): attention_axes \[2\] for inputs of rank 3 is not supported/,
  );
  const axes = fixture("keras3/mha_attention_axes", "model.weights.h5");
  layer(axes.json, "mha_default_axes").config.attention_axes = [2, 1];
  rejects(() => axes.load(axes.json), "E_UNSUPPORTED", /layer "mha_default_axes" .*attention_axes \[2,1\]/);
});

test("Keras 2 negative attention_axes are listed with the model's other unsupported parts", () => {
  const { json, load } = fixture("keras2/mha_options", "weights.h5");
  layer(json, "mha_no_bias").config.attention_axes = [-2];
  layer(json, "mha_shape").config.attention_axes = -1;
  rejects(
    () => load(json),
    "E_UNSUPPORTED",
    /2 unsupported features: .*"mha_no_bias".*negative attention_axes \[-2\].*"mha_shape".*negative attention_axes -1/,
  );
});

test("masks on MultiHeadAttention inputs of rank 4 are refused at load time", () => {
  const { json, load } = fixture("keras3/mha_attention_axes", "model.weights.h5");
  layer(json, "mha_axis_2").inbound_nodes[0].kwargs.use_causal_mask = true;
  rejects(
    () => load(json),
    "E_UNSUPPORTED",
    /layer "mha_axis_2" \(MultiHeadAttention\): masks on inputs of rank 4 are not supported/,
  );
});

test("tensor call arguments an attention layer does not take are reported", () => {
  const { json, load } = fixture("keras3/mha_masks", "model.weights.h5");
  const kwargs = layer(json, "mha_fused").inbound_nodes[0].kwargs;
  kwargs.query_mask = kwargs.attention_mask;
  rejects(
    () => load(json),
    "E_UNSUPPORTED",
    /layer "mha_fused" \(MultiHeadAttention\): the tensor argument "query_mask" is not supported/,
  );
});

test("unknown constant call arguments and bad flags are errors naming the layer", () => {
  const { json, load } = fixture("keras3/mha_masks", "model.weights.h5");
  layer(json, "mha_causal_only").inbound_nodes[0].kwargs.is_causal = true;
  rejects(
    () => load(json),
    "E_UNSUPPORTED",
    /layer "mha_causal_only" \(MultiHeadAttention\): call argument is_causal=true is not supported/,
  );
  const dense = fixture("keras3/attention_dot", "model.weights.h5");
  layer(dense.json, "att_scaled").inbound_nodes[0].kwargs.return_attention_scores = "yes";
  rejects(
    () => dense.load(dense.json),
    "E_CONFIG",
    /layer "att_scaled" \(Attention\): call argument return_attention_scores="yes" should be true or false/,
  );
});

test("an attention_mask whose shape does not fit query and value is a config error", () => {
  const { json, load } = fixture("keras3/mha_masks", "model.weights.h5");
  layer(json, "attention_mask").config.batch_shape = [null, 5, 4];
  rejects(
    () => load(json),
    "E_CONFIG",
    /layer "mha_\w+" \(MultiHeadAttention\): attention_mask has shape \[None, 5, 4\], expected \[batch, 4, 5\]/,
  );
});

test("Attention refuses unknown score modes and keys that do not fit the query", () => {
  const { json, load } = fixture("keras3/attention_dot", "model.weights.h5");
  layer(json, "att_plain").config.score_mode = "general";
  rejects(() => load(json), "E_UNSUPPORTED", /layer "att_plain" \(Attention\): score_mode="general" is not supported/);
  const other = fixture("keras3/attention_dot", "model.weights.h5");
  layer(other.json, "key").config.batch_shape = [null, 5, 4];
  rejects(() => other.load(other.json), "E_CONFIG", /layer "att_plain" \(Attention\): query has 3 features and key 4/);
});

test("a MultiHeadAttention whose file lacks a projection names the missing object path", () => {
  const { json, load } = fixture("keras3/mha_gate_window", "model.weights.h5");
  layer(json, "mha_window").config.use_gate = true;
  rejects(
    () => load(json),
    "E_WEIGHTS_MISSING",
    /layer "mha_window" \(MultiHeadAttention\): no weights at "layers\/multi_head_attention_2\/_gate_dense\/vars"/,
  );
});

// The fixture cases of this family, against Keras.
matchesKeras([
  "additive_attention",
  "additive_attention_keras2",
  "attention_causal_config",
  "attention_concat",
  "attention_dot",
  "attention_explicit_masks",
  "lstm_attention_lstm",
  "lstm_self_attention",
  "masked_lstm_mha",
  "mha_attention_axes",
  "mha_gate_window",
  "mha_masks",
  "mha_options",
  "mha_robust_masking",
]);
