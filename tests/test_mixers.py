"""Token mixers: shapes, masks, the magnitude weights, CG, SPECTRE's shift equivariance, gradients."""

import numpy as np
import pytest
import scipy.fft
import torch

from pinnfreq.surrogate.mixers import (FNOMixer, MagnitudeAttention, SoftmaxAttention, SpectreMixer,
                                       conjugate_gradient, magnitude_weights)

D = 16


def _mixers(n_dims):
    return {
        "spectre": SpectreMixer(D, n_heads=2, n_dims=n_dims, n_groups=2, d_gate=32),
        "spectre-full": SpectreMixer(D, n_heads=2, n_dims=n_dims, n_groups=2, d_gate=32, pooling="dct",
                                     toeplitz_bandwidth=2, memory_size=3, wavelet_rate=1.0, n_fft=32),
        "spectre-mix": SpectreMixer(D, n_heads=2, n_dims=n_dims, n_groups=2, d_gate=32, mix_buckets=3),
        "magnitude": MagnitudeAttention(D, n_heads=2),
        "softmax": SoftmaxAttention(D, n_heads=2),
        "fno": FNOMixer(D, n_modes=4, n_dims=n_dims),
    }


@pytest.mark.parametrize("n_dims, shape", [(1, (24,)), (2, (6, 8))])
@pytest.mark.parametrize("name", ["spectre", "spectre-full", "spectre-mix", "magnitude", "softmax", "fno"])
def test_shapes_gradients_and_masks(name, n_dims, shape):
    torch.manual_seed(0)
    mixer = _mixers(n_dims)[name].double()
    n = int(np.prod(shape))
    x = torch.randn(3, n, D, dtype=torch.float64, requires_grad=True)
    out = mixer(x, shape)
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in mixer.parameters() if p.grad is not None)
    mixer.eval()  # no random wavelet path
    mask = torch.ones(3, n, dtype=torch.float64)
    mask[:, -5:] = 0
    y = x.detach().clone()
    y2 = y.clone()
    y2[:, -5:] = 100 * torch.randn(3, 5, D, dtype=torch.float64)  # padding content must not matter
    a, b = mixer(y, shape, mask), mixer(y2, shape, mask)
    assert torch.allclose(a[:, :-5], b[:, :-5], atol=1e-10)
    assert not torch.allclose(a, mixer(y2, shape), atol=1e-3)  # (without the mask it does matter)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_heads=3 must divide hidden_channels=16"):
        SoftmaxAttention(16, 3)
    with pytest.raises(ValueError, match=r"takes tokens \(B, N, 16\)"):
        SoftmaxAttention(16)(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match="does not hold N = 10"):
        SpectreMixer(16, n_dims=2, n_groups=2)(torch.randn(1, 10, 16), (3, 4))
    with pytest.raises(ValueError, match="below the token grid"):
        SpectreMixer(16, n_fft=8, n_groups=2)(torch.randn(1, 10, 16))
    with pytest.raises(ValueError, match="pooling"):
        SpectreMixer(16, pooling="max")


def test_magnitude_weights_of_clones_and_of_far_keys():
    """The seed's example: k identical keys share one unit (mu ~ 1/k); far-apart keys get mu ~ 1."""
    t = torch.tensor(1.0)
    clones = torch.zeros(1, 50, 4)
    far = torch.eye(8)[None] * 100.0
    mixed = torch.cat([torch.zeros(1, 5, 8), 100 * torch.ones(1, 1, 8)], 1)
    mu_clones = magnitude_weights(clones, t, 1e-4, 5)
    assert torch.allclose(mu_clones, torch.full((1, 50), 1 / 50), rtol=1e-3)
    assert torch.allclose(magnitude_weights(far, t, 1e-4, 5), torch.ones(1, 8), rtol=1e-3)
    mu = magnitude_weights(mixed, t, 1e-4, 5)[0]
    assert torch.allclose(mu[:5], torch.full((5,), 0.2), rtol=1e-3) and abs(float(mu[5]) - 1) < 1e-3
    assert abs(float(mu.sum()) - 2) < 1e-2  # the set's magnitude: two units of information


def test_conjugate_gradient_matches_a_direct_solve_and_differentiates():
    torch.manual_seed(0)
    k = torch.randn(3, 12, 4, dtype=torch.float64, requires_grad=True)
    z = torch.exp(-torch.cdist(k, k) ** 2 / 4) + 1e-2 * torch.eye(12, dtype=torch.float64)
    direct = torch.linalg.solve(z, torch.ones(3, 12, dtype=torch.float64))
    cg = conjugate_gradient(lambda p: (z @ p[..., None])[..., 0], torch.ones(3, 12, dtype=torch.float64), 60)
    assert torch.allclose(cg, direct, atol=1e-8)
    (g_cg,) = torch.autograd.grad(cg.sum(), k, retain_graph=True)
    (g_direct,) = torch.autograd.grad(direct.sum(), k)
    assert torch.allclose(g_cg, g_direct, atol=1e-6)
    assert torch.allclose(magnitude_weights(k, torch.tensor(1.0), 1e-2, 60), direct, atol=1e-8)


@pytest.mark.parametrize("chunk", [None, 5])
@pytest.mark.parametrize("masked", [False, True])
def test_magnitude_weights_differentiate_as_the_unrolled_iterations(chunk, masked):
    """The adjoint recurrence gives what autograd through the unrolled CG gives (float64, to round-off),
    with the kernel formed or applied in blocks, with padding; and gradcheck holds."""
    torch.manual_seed(0)
    k = torch.randn(2, 3, 13, 4, dtype=torch.float64, requires_grad=True)
    t = (torch.rand(1, 3, 1, 1, dtype=torch.float64) + 0.5).requires_grad_()
    mask = (torch.rand(2, 3, 13) > 0.3).double() if masked else None
    w = torch.randn(2, 3, 13, dtype=torch.float64)
    for n_iter in (1, 3, 5):
        mu = magnitude_weights(k, t, 1e-2, n_iter, mask, chunk)
        z = torch.exp(-t * torch.cdist(k, k).pow(2) / 4)
        matvec = (lambda p: (z @ p[..., None])[..., 0] + 1e-2 * p) if mask is None else \
            (lambda p: mask * (z @ (mask * p)[..., None])[..., 0] + (1 - mask + 1e-2) * p)
        unrolled = conjugate_gradient(matvec, torch.ones(2, 3, 13, dtype=torch.float64), n_iter)
        assert torch.allclose(mu, unrolled, atol=1e-12)
        ours = torch.autograd.grad((mu * w).sum(), (k, t))
        autograd = torch.autograd.grad((unrolled * w).sum(), (k, t))
        assert all(torch.allclose(a, b, rtol=1e-9, atol=1e-11) for a, b in zip(ours, autograd))
    assert torch.autograd.gradcheck(lambda k, t: magnitude_weights(k, t, 1e-2, 4, mask, chunk), (k, t))


def test_magnitude_weights_gradient_is_finite_where_cg_converges_exactly():
    """Far-apart keys: Z = I, CG's residual is 0 after one step; float32 gradients stay finite (a ratio of
    squared residuals would underflow to 0 / 0)."""
    k = (100 * torch.eye(8)[None]).requires_grad_()
    t = torch.tensor(1.0, requires_grad=True)
    mu = magnitude_weights(k, t, 1e-3, 5)
    grads = torch.autograd.grad((mu**2).sum(), (k, t))
    assert all(bool(torch.isfinite(g).all()) for g in grads)


def test_matrix_free_kernel_product_and_its_gradients_match_the_formed_kernel():
    from pinnfreq.surrogate.mixers.kernel import kernel_matvec

    torch.manual_seed(0)
    k = torch.randn(2, 3, 37, 5, dtype=torch.float64, requires_grad=True)
    t = torch.rand(1, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    p = torch.randn(2, 3, 37, dtype=torch.float64, requires_grad=True)
    z = torch.exp(-t * torch.cdist(k, k).pow(2) / 5)
    assert torch.allclose(kernel_matvec(k, t, p, 10), (z @ p[..., None])[..., 0], atol=1e-12)
    assert torch.autograd.gradcheck(lambda k, t, p: kernel_matvec(k, t, p, 10), (k, t, p))  # blocks of 10, 10, 10, 7


def test_magnitude_attention_matrix_free_equals_the_formed_kernel_with_a_mask():
    """Past ``chunk`` tokens Z is never formed; outputs and gradients are unchanged (padding included)."""
    torch.manual_seed(0)
    dense = MagnitudeAttention(D, n_heads=2, chunk=None).double()
    free = MagnitudeAttention(D, n_heads=2, chunk=7).double()
    free.load_state_dict(dense.state_dict())
    x = torch.randn(2, 30, D, dtype=torch.float64)
    mask = torch.ones(2, 30)
    mask[1, 20:] = 0
    outs, grads = [], []
    for mixer in (dense, free):
        out, mu = mixer(x, mask=mask, return_magnitude=True)
        (out.square().sum() + mu.sum()).backward()
        outs.append((out, mu))
        grads.append([q.grad.clone() for q in mixer.parameters()])
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-10) and torch.allclose(outs[0][1], outs[1][1], atol=1e-10)
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(*grads))


def test_cg_residual_falls_with_the_iterations():
    from pinnfreq.surrogate.mixers import cg_residual

    torch.manual_seed(0)
    k, t = torch.randn(1, 200, 8, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    res = [float(cg_residual(k, t, 1e-3, magnitude_weights(k, t, 1e-3, n))) for n in (1, 3, 10, 300)]
    assert res[0] > res[1] > res[2] > res[3] and res[3] < 1e-10  # N steps solve exactly (in exact arithmetic)


@pytest.mark.parametrize("pooling", ["mean", "attention"])
@pytest.mark.parametrize("shape", [(32,), (8, 12)])
def test_spectre_commutes_with_circular_shifts(pooling, shape):
    torch.manual_seed(0)
    mixer = SpectreMixer(D, n_heads=2, n_dims=len(shape), n_groups=2, d_gate=32, pooling=pooling, n_fft="same",
                         toeplitz_bandwidth=2, mix_buckets=3).double()
    with torch.no_grad():
        mixer.toeplitz.normal_()
        mixer.mix.normal_()
    x = torch.randn(2, *shape, D, dtype=torch.float64)
    shifts, dims = ((5,), (1,)) if len(shape) == 1 else ((3, -5), (1, 2))
    flat = lambda t: t.reshape(2, -1, D)  # noqa: E731
    out = mixer(flat(x), shape).reshape(2, *shape, D)
    shifted = mixer(flat(torch.roll(x, shifts, dims)), shape).reshape(2, *shape, D)
    assert torch.allclose(shifted, torch.roll(out, shifts, dims), atol=1e-10)


def test_spectre_channel_mixing_starts_as_the_seed_layer_and_hits_its_anchors():
    torch.manual_seed(0)
    seed_layer = SpectreMixer(D, n_heads=2, n_groups=2, d_gate=32, n_fft="same").double()
    torch.manual_seed(0)
    mixing = SpectreMixer(D, n_heads=2, n_groups=2, d_gate=32, n_fft="same", mix_buckets=5).double()
    x = torch.randn(2, 32, D, dtype=torch.float64)
    assert torch.allclose(seed_layer(x), mixing(x), atol=1e-12)  # zero matrices: the seed's layer
    with torch.no_grad():
        mixing.mix.normal_()
    assert not torch.allclose(seed_layer(x), mixing(x), atol=1e-3)
    # 32 points: rfft frequencies 0..16; 5 anchors at 0, 4, 8, 12, 16 are met exactly, the rest linear
    a = mixing.mixing((32,))  # (H, 17, dh, dh)
    anchors = torch.view_as_complex(mixing.mix.movedim(3, -1).contiguous())  # (H, dh, dh, 5)
    assert torch.allclose(a[:, ::4], anchors.movedim(-1, 1), atol=1e-12)
    assert torch.allclose(a[:, 2], (anchors[..., 0] + anchors[..., 1]) / 2, atol=1e-12)
    with pytest.raises(ValueError, match="mix_buckets"):
        SpectreMixer(D, mix_buckets=1)


def test_spectre_dct_pooling_is_the_orthonormal_dct():
    torch.manual_seed(0)
    mixer = SpectreMixer(D, n_heads=1, n_groups=2, pooling="dct").double()
    q = torch.randn(2, 1, 100, D, dtype=torch.float64)
    expected = scipy.fft.dct(q.numpy(), type=2, norm="ortho", axis=2)[:, :, :64].mean(2)
    assert np.allclose(mixer.pool(q, None).numpy(), expected, atol=1e-12)


def test_wavelet_refinement_is_off_in_evaluation():
    torch.manual_seed(0)
    mixer = SpectreMixer(D, n_heads=2, n_groups=2, wavelet_rate=1.0)
    x = torch.randn(2, 16, D)
    mixer.eval()
    a = mixer(x)
    mixer.train()
    b = mixer(x)
    mixer.wavelet_rate = 0.0
    assert not torch.allclose(a, b) and torch.allclose(mixer(x), a)


@pytest.mark.parametrize("mode", ["bicubic", "linear"])
def test_spectre_spreads_anchors_as_interpolate_does(mode):
    """The gate's anchors spread over the frequencies by one matrix per axis: the same values as
    F.interpolate over the grid of anchors (1-D and 2-D, the 2-D rows mirrored for negative k_0)."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    for n_dims, sizes in ((1, (256,)), (2, (16, 12))):
        mixer = SpectreMixer(D, n_dims=n_dims).double()
        anchors = torch.randn(6, 2, *(5,) * n_dims, dtype=torch.float64)
        out = (sizes[0] // 2 + 1, sizes[-1] // 2 + 1)[-n_dims:]
        if n_dims == 1:
            kind = "bilinear" if mode == "linear" else mode
            expected = F.interpolate(anchors[:, :, None], size=(1, *out), mode=kind, align_corners=True)[:, :, 0]
        else:
            g = F.interpolate(anchors, size=out, mode="bilinear" if mode == "linear" else mode, align_corners=True)
            expected = g[:, :, torch.fft.fftfreq(sizes[0], 1 / sizes[0]).abs().long()]
        assert torch.allclose(mixer.spread(anchors, sizes, mode), expected, atol=1e-12)
