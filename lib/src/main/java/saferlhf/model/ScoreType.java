package saferlhf.model;

/**
 * What a {@link ScoreModel} scores, which selects the normalize function (safe_rlhf score_model):
 * REWARD affine {@code (x - mean) / (std + 1e-8)}; COST scale-only {@code x / (std + 1e-8)} so that the sign survives;
 * CRITIC identity.
 *
 * <p>Sign convention of COST: <b>cost &gt; 0 means unsafe, cost &lt;= 0 means safe.</b>
 */
public enum ScoreType { REWARD, COST, CRITIC }
