//! Every feature of the standard over a whole signal, in one pass over its spectra.

use super::{
    Chroma, FrameMatrix, HOP, LogMel, Mfcc, N_BINS, N_CHROMA, N_CONTRAST, N_FFT, N_MELS, N_MFCC,
    N_ONSET_BANDS, ONSET_DELAY_FRAMES, OnsetStrength, SpectralStats, Stft, TEMPOGRAM_WIN,
    Tempogram,
};

/// The frame-wise features of one signal at 96 frames per second (frame `t` is centred on
/// sample `250 t` of the 24 kHz signal).
#[derive(Debug, Clone)]
pub struct Features {
    /// Standard log-mel, `N_MELS` per frame.
    pub log_mel: FrameMatrix,
    /// Chroma, `N_CHROMA` per frame, C first, loudest class 1.
    pub chroma: FrameMatrix,
    /// MFCC, `N_MFCC` per frame.
    pub mfcc: FrameMatrix,
    /// Spectral centroid, Hz.
    pub centroid: Vec<f32>,
    /// Spectral bandwidth, Hz.
    pub bandwidth: Vec<f32>,
    /// 85 % roll-off, Hz.
    pub rolloff: Vec<f32>,
    /// Spectral flatness, 0..1.
    pub flatness: Vec<f32>,
    /// Spectral contrast, `N_CONTRAST` per frame, dB.
    pub contrast: FrameMatrix,
    /// Onset strength over all bins (mean dB rise), aligned with the frames.
    pub onset: Vec<f32>,
    /// Onset strength per band (`ONSET_BAND_EDGES`), aligned with the frames.
    pub onset_bands: FrameMatrix,
    /// Autocorrelation tempogram of `onset`, `TEMPOGRAM_WIN` lags per frame.
    pub tempogram: FrameMatrix,
}

impl Features {
    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        self.log_mel.n_frames()
    }
}

/// Runs every DSP object of the standard over a signal. Plans once; reuse it for many
/// signals (only the output is allocated per signal).
pub struct FeatureExtractor {
    stft: Stft,
    log_mel: LogMel,
    chroma: Chroma,
    mfcc: Mfcc,
    spectral: SpectralStats,
    onset: OnsetStrength,
    tempogram: Tempogram,
    magnitude: Vec<f32>,
    power: Vec<f32>,
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    /// Plans every transform and filterbank of the standard.
    pub fn new() -> Self {
        Self {
            stft: Stft::new(N_FFT, HOP),
            log_mel: LogMel::new(),
            chroma: Chroma::new(),
            mfcc: Mfcc::new(),
            spectral: SpectralStats::new(),
            onset: OnsetStrength::new(),
            tempogram: Tempogram::new(),
            magnitude: vec![0.0; N_BINS],
            power: vec![0.0; N_BINS],
        }
    }

    /// Only the standard log-mel of a 24 kHz mono signal: what the models consume.
    pub fn log_mel(&mut self, signal: &[f32]) -> FrameMatrix {
        let mut log_mel = FrameMatrix::zeros(self.stft.n_frames(signal.len()), N_MELS);
        for t in 0..log_mel.n_frames() {
            self.stft.magnitude_at(signal, t, &mut self.magnitude);
            self.log_mel.process(&self.magnitude, log_mel.frame_mut(t));
        }
        log_mel
    }

    /// Every feature of a 24 kHz mono signal.
    pub fn compute(&mut self, signal: &[f32]) -> Features {
        let n = self.stft.n_frames(signal.len());
        let mut f = Features {
            log_mel: FrameMatrix::zeros(n, N_MELS),
            chroma: FrameMatrix::zeros(n, N_CHROMA),
            mfcc: FrameMatrix::zeros(n, N_MFCC),
            centroid: vec![0.0; n],
            bandwidth: vec![0.0; n],
            rolloff: vec![0.0; n],
            flatness: vec![0.0; n],
            contrast: FrameMatrix::zeros(n, N_CONTRAST),
            onset: vec![0.0; n],
            onset_bands: FrameMatrix::zeros(n, N_ONSET_BANDS),
            tempogram: FrameMatrix::zeros(0, TEMPOGRAM_WIN),
        };
        self.onset.reset();
        let mut flux_bands = [0.0; N_ONSET_BANDS];
        for t in 0..n {
            self.stft.magnitude_at(signal, t, &mut self.magnitude);
            for (p, m) in self.power.iter_mut().zip(&self.magnitude) {
                *p = m * m;
            }
            self.log_mel.process(&self.magnitude, f.log_mel.frame_mut(t));
            self.chroma.process(&self.power, f.chroma.frame_mut(t));
            self.mfcc.process(f.log_mel.frame(t), f.mfcc.frame_mut(t));
            let shape = self.spectral.process(&self.magnitude);
            f.centroid[t] = shape.centroid;
            f.bandwidth[t] = shape.bandwidth;
            f.rolloff[t] = shape.rolloff;
            f.flatness[t] = shape.flatness;
            f.contrast.frame_mut(t).copy_from_slice(&shape.contrast);

            let flux = self.onset.process(f.log_mel.frame(t), &mut flux_bands);
            // The flux between frames t-1 and t belongs to frame t - 1 + ONSET_DELAY_FRAMES.
            let aligned = t + ONSET_DELAY_FRAMES - 1;
            if t > 0 && aligned < n {
                f.onset[aligned] = flux;
                f.onset_bands.frame_mut(aligned).copy_from_slice(&flux_bands);
            }
        }
        f.tempogram = self.tempogram.compute(&f.onset);
        f
    }
}
