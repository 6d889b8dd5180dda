"""The two "added layers" of dSPIC: the attention module (Eq. 6-8) and the residual module (Eq. 9).

Each block is a function ``block(x, ..., name=...)`` that takes a Keras tensor and returns one, built
only from stock Keras layers (so a saved model loads with ``safe_mode=True`` and no custom layer code).
Layer names start with the block's name and read like the equations: ``am1_channel_mlp_hidden`` is
the MLP of Eq. 7 in the first attention module, ``rm1_conv_b`` the outer :math:`f^{3\\times3}` of Eq. 9.
"""
from __future__ import annotations

from .._tf import keras

layers = keras.layers


def cbam_block(F, reduction: int = 16, *, name: str = "am", literal_eq6: bool = False, init: str = "he_normal"):
    """Attention module (CBAM, Woo et al. 2018): channel attention, then spatial attention.

    Eq. 7  f_c(F)  = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))      pooled over the spatial axes
    Eq. 8  f_s(F') = sigmoid(f7x7([AvgPool(F'); MaxPool(F')]))        pooled over the channel axis
    Eq. 6  F' = f_c(F) * F,   M = f_s(F') * F'                         (* = element-wise, broadcast)

    ``reduction`` is the ratio r of the shared MLP (C -> C/r -> C), 16 as in the CBAM paper; the
    dSPIC paper does not give it. Eq. 6 as printed multiplies the spatial map into F, not into F';
    the text ("F' is fed into the spatial attention module to obtain a refined map") and CBAM apply
    the two in sequence, which is the default here. ``literal_eq6=True`` multiplies into F instead.
    ``init``: the initialiser of the ReLU layer (the MLP's hidden layer); the layers in front of a
    sigmoid keep Keras' Glorot-uniform default.
    """
    rows, cols, channels = F.shape[1], F.shape[2], F.shape[3]
    hidden = max(1, channels // reduction)

    # Eq. 7: one MLP, shared by the average- and the max-pooled channel descriptors
    mlp_hidden = layers.Dense(hidden, activation="relu", kernel_initializer=init, name=f"{name}_channel_mlp_hidden")
    mlp_out = layers.Dense(channels, name=f"{name}_channel_mlp_out")
    avg_F = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_channel_avgpool")(F)
    max_F = layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_channel_maxpool")(F)
    mlp_sum = layers.Add(name=f"{name}_channel_mlp_sum")([mlp_out(mlp_hidden(avg_F)),
                                                          mlp_out(mlp_hidden(max_F))])
    f_c = layers.Activation("sigmoid", name=f"{name}_channel_sigmoid")(mlp_sum)        # (1, 1, C)
    F1 = layers.Multiply(name=f"{name}_channel_scale")([f_c, F])                        # Eq. 6: F'

    # Eq. 8: average and max over the channels of F' at every pixel (stock layers: the pixels
    # become the "channels_first" axis of a 1-D global pooling), then one 7x7 convolution
    pixels = layers.Reshape((rows * cols, channels), name=f"{name}_spatial_pixels")(F1)
    avg_c = layers.GlobalAveragePooling1D(data_format="channels_first", keepdims=True,
                                          name=f"{name}_spatial_avgpool")(pixels)
    max_c = layers.GlobalMaxPooling1D(data_format="channels_first", keepdims=True,
                                      name=f"{name}_spatial_maxpool")(pixels)
    both = layers.Concatenate(axis=-1, name=f"{name}_spatial_concat")([avg_c, max_c])
    both = layers.Reshape((rows, cols, 2), name=f"{name}_spatial_map")(both)
    f_s = layers.Conv2D(1, 7, padding="same", activation="sigmoid",
                        name=f"{name}_spatial_conv7x7")(both)                            # (H, W, 1)
    return layers.Multiply(name=f"{name}_spatial_scale")([f_s, F if literal_eq6 else F1])  # Eq. 6: M


def residual_block(F, *, name: str = "rm", init: str = "he_normal"):
    """Residual module, Eq. 9:  R = relu(f3x3(relu(f3x3(F))) + F).

    Both convolutions keep the number of channels and the map size (3x3, stride 1, padding 1), so
    the identity skip needs no projection. No batch normalisation: Eq. 9 has none. ``init``: the
    initialiser of both convolutions (each feeds a ReLU).
    """
    channels = F.shape[-1]
    inner = layers.Conv2D(channels, 3, padding="same", activation="relu", kernel_initializer=init,
                          name=f"{name}_conv_a")(F)
    outer = layers.Conv2D(channels, 3, padding="same", kernel_initializer=init, name=f"{name}_conv_b")(inner)
    total = layers.Add(name=f"{name}_skip")([outer, F])
    return layers.Activation("relu", name=f"{name}_relu")(total)
