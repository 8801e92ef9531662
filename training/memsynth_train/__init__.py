"""memsynth's model training: VQ-VAE tokenizer, Vocos-style vocoder, latent diffusion U-Net
and phrase mapper, trained on `memsynth db export-dataset` shards and exported to ONNX."""

__version__ = "0.1.0"
