"""Huber M-estimation of a linear model by iteratively reweighted least squares.

Why Huber and not plain least squares: the in-line cell counter throws the odd wild
reading (a bubble, a clump) and a transfer can leave a transient; Huber weights those
down while behaving like least squares on well-behaved Gaussian noise, and, unlike
Theil–Sen, it extends to a model with several intercepts (one per culture segment) and
gives a covariance matrix for the standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HUBER_C = 1.345  # 95 % efficiency on Gaussian noise
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class RobustFit:
    coef: np.ndarray  # model coefficients
    cov: np.ndarray  # their covariance
    scale: float  # robust residual standard deviation
    weights: np.ndarray  # final Huber weights (1: a point counted in full)


def huber_fit(x: np.ndarray, y: np.ndarray, c: float = HUBER_C, iterations: int = 50) -> RobustFit:
    """Fit ``y ≈ x @ coef`` (``x``: n × p design matrix, n > p) with Huber weights.

    The scale is the MAD of the residuals, renewed at each iteration; the covariance is
    Huber's asymptotic one, scale² · E[ψ²]/E[ψ']² · (XᵀX)⁻¹, with a small-sample n/(n-p)."""
    n, p = x.shape
    if n <= p:
        raise ValueError(f"need more points than coefficients ({n} <= {p})")
    w = np.ones(n)
    coef = _weighted_lstsq(x, y, w)
    for _ in range(iterations):
        resid = y - x @ coef
        scale = _mad_scale(resid, p)
        if scale <= 0.0:
            break
        w = np.minimum(1.0, c * scale / np.maximum(np.abs(resid), 1e-300))
        new = _weighted_lstsq(x, y, w)
        moved = float(np.max(np.abs(x @ (new - coef))))
        coef = new
        if moved < 1e-4 * scale:  # fitted values settled to a ten-thousandth of the noise
            break
    resid = y - x @ coef
    scale = _mad_scale(resid, p)
    u = resid / scale if scale > 0 else np.zeros(n)
    psi = np.clip(u, -c, c)
    dpsi = float(np.count_nonzero(np.abs(u) <= c)) / n
    xtx_inv = np.linalg.pinv(x.T @ x)
    factor = float(psi @ psi) / n / max(dpsi, 1.0 / n) ** 2 * n / (n - p)
    return RobustFit(coef, scale**2 * factor * xtx_inv, scale, w)


def _weighted_lstsq(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Normal equations (p is tiny); lstsq only if they are singular."""
    xw = x * w[:, None]
    try:
        return np.linalg.solve(xw.T @ x, xw.T @ y)
    except np.linalg.LinAlgError:
        sw = np.sqrt(w)
        return np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]


def fast_median(a: np.ndarray) -> float:
    """np.median without its overhead (it dominates on the small arrays used here)."""
    n = len(a)
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    part = np.partition(a, (k - 1, k))
    return 0.5 * float(part[k - 1] + part[k])


def _mad_scale(resid: np.ndarray, p: int) -> float:
    """Robust standard deviation of residuals (MAD); when more than half the residuals
    are zero (tiny samples fitted exactly) the ordinary RMS stands in."""
    mad = MAD_TO_SD * fast_median(np.abs(resid - fast_median(resid)))
    if mad > 0.0:
        return mad
    n = len(resid)
    return float(np.sqrt(np.sum(resid**2) / max(n - p, 1)))
