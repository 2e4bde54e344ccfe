/**
 * Keras applications as keras.applications and tf_keras.applications build them (MobileNetV2,
 * MobileNetV3Small, EfficientNet and EfficientNetV2-B0 at low width and input size), small models
 * with the layer patterns of ResNet50, DenseNet121 and VGG16, and a Teachable Machine
 * keras_model.h5: the fixture cases (tools/fixtures/cases_applications.py), against Keras. The
 * full-size architectures (and MobileNet V1, MobileNetV3Large, EfficientNetB1) are checked
 * generator-side by tools/fixtures/full_applications.py.
 */
import { matchesKeras } from "../helpers.js";

matchesKeras([
  "apps_mobilenet_v2",
  "apps_mobilenet_v3_small",
  "apps_efficientnet",
  "apps_efficientnet_v2_b0",
  "apps_resnet_pattern",
  "apps_densenet_pattern",
  "apps_vgg_pattern",
  "teachable_machine",
]);
