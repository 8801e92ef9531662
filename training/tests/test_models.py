import numpy as np
import torch

from memsynth_train import data as D
from memsynth_train.diffusion import UNet1d, alpha_sigma, ddim_sample, ddim_timesteps
from memsynth_train.mapper import Mapper
from memsynth_train.vocoder import Discriminators, Vocoder
from memsynth_train.vqvae import VqVae


def test_vqvae_downsamples_time_by_4_and_reconstructs_shape():
    m = VqVae(ch=16, dim=64, codes=32, blocks=1).train()
    x = torch.randn(2, 128, 192) - 5
    rec, z, idx, commit, stats = m(x)
    assert z.shape == (2, 64, 48) and rec.shape == x.shape and idx.shape == (2, 48)
    assert bool(m.quantizer.initialised)  # k-means on the first batch
    assert m.decode_latent(z).shape == x.shape


def test_dead_codes_are_restarted():
    m = VqVae(ch=16, dim=8, codes=16, blocks=1, dead_threshold=0.5)
    m.quantizer.cluster_size.zero_()
    m.quantizer.cluster_size[0] = 5
    m.quantizer.recent_use[0] = 3
    m.quantizer.recent_use[1] = 2  # used lately, but its EMA count is below the threshold
    n = m.quantizer.restart_dead(torch.randn(40, 8))
    assert n == 15 and (m.quantizer.cluster_size >= 0.5).all()
    m.quantizer.cluster_size.fill_(1.0)
    m.quantizer.recent_use[2] = 1
    assert m.quantizer.restart_dead(torch.randn(40, 8)) == 15  # only code 2 was used this period


def test_vocoder_gives_one_stft_frame_per_mel_frame():
    v = Vocoder(dim=16, blocks=1)
    mag, phase = v(torch.randn(2, 128, 40) - 5)
    assert mag.shape == phase.shape == (2, 513, 40) and (mag >= 0).all()
    assert v.waveform(torch.randn(1, 128, 40)).shape == (1, 40 * 250)
    outs = Discriminators(periods=(2, 3), ch=4)(torch.randn(2, 8000))
    assert len(outs) == 5


def test_unet_shapes_and_context_mask():
    u = UNet1d(channels=64, base=16, mults=(1, 2), blocks=1, emb=32)
    x = torch.randn(2, 64, 192)
    v = u(x, torch.rand(2), torch.randn(2, D.COND_DIMS), torch.randn(2, 64, 48), torch.ones(2))
    assert v.shape == x.shape


def test_mapper_gives_unit_queries():
    q = Mapper(hidden=32)(torch.randn(5, 104))
    assert q.shape == (5, 256) and torch.allclose(q.norm(dim=-1), torch.ones(5), atol=1e-5)


def test_cosine_schedule_ends():
    a, s = alpha_sigma(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert abs(float(a[0]) - 1) < 1e-6 and float(s[0]) < 1e-6
    assert float(a[1]) < 1e-6 and abs(float(s[1]) - 1) < 1e-6
    assert torch.allclose(a ** 2 + s ** 2, torch.ones(2, dtype=torch.float64))


def test_trailing_spacing():
    assert ddim_timesteps(4) == [(1.0, 0.75), (0.75, 0.5), (0.5, 0.25), (0.25, 0.0)]


class PerfectDenoiser(torch.nn.Module):
    """Knows x0: returns the true v for any x_t."""

    def __init__(self, x0):
        super().__init__()
        self.x0 = x0

    def forward(self, x_t, t, cond, context, mask):
        a, s = alpha_sigma(t.double())
        a, s = a[:, None, None].float(), s[:, None, None].float()
        eps = (x_t - a * self.x0) / s.clamp(min=1e-8)
        return a * eps - s * self.x0


def test_ddim_with_a_perfect_denoiser_returns_x0():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 8, 16, generator=g)
    noise = torch.randn(2, 8, 16, generator=g)
    for steps in (1, 4, 20):
        for guidance in (1.0, 2.5):
            out = ddim_sample(PerfectDenoiser(torch.cat([x0, x0]) if guidance != 1.0 else x0), noise,
                              torch.zeros(2, D.COND_DIMS), torch.zeros(2, 8, 4), torch.ones(2), steps, guidance)
            assert torch.allclose(out, x0, atol=1e-4), (steps, guidance)


def test_bar_position_code():
    code = D.bar_position_encoding(np.array([0, 3, 12]), np.array([4, 8, 16]))
    assert code.shape == (3, 16)
    assert code[0, 12] == 1 and code[0, 13] == 1  # opening and closing window of a 4-bar phrase
    assert code[1, 12] == 0 and code[1, 13] == 0
    assert code[2, 13] == 1 and np.isclose(code[2, 14], 12 / 16)
