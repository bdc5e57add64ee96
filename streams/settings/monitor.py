"""The monitors and the decision step, and the health loop that watches the pipeline."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.experiments.spec import parse_experiments
from streams.settings.values import comma_names, parsed_by


class MonitorSettings(BaseSettings):
    """Windows and thresholds of the monitors and the decision step."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_MONITOR_", extra="ignore")

    summary_size: int = Field(
        250, ge=1, description="A partition emits a summary every N predictions…")
    summary_interval_s: float = Field(1.0, gt=0, description="…or every this many seconds.")
    window_size: int = Field(1000, ge=50, description="Predictions per decision window per model.")
    window_max_s: float = Field(30.0, gt=0, description="Close a window after this long if it has "
                                "at least min_window predictions.")
    min_window: int = Field(200, ge=10, description="Smallest window that is judged.")
    drift_alpha: float = Field(0.001, gt=0, lt=1, description="False-discovery rate over features.")
    drift_min_psi: float = Field(0.1, ge=0, description="Smallest PSI that counts as drift.")
    latency_quantile: float = Field(0.99, gt=0, lt=1, description="Latency quantile watched.")
    latency_threshold_s: float = Field(
        0.25, gt=0, description="Alert when that quantile exceeds this.")
    fire_after: int = Field(2, ge=1, description="Consecutive bad windows before an alert fires.")
    resolve_after: int = Field(2, ge=1, description="Consecutive good windows before it resolves.")
    retrain_after: int = Field(
        3, ge=1, description="Windows of sustained drift before a retrain.")
    retrain_cooldown_s: float = Field(
        3600.0, ge=0, description="At most one retrain per model per this.")
    slo_objective: float = Field(0.99, gt=0, lt=1, description="Latency SLO: this share of "
                                 "requests under slo_threshold_s over slo_period_days.")
    slo_threshold_s: float = Field(0.2, gt=0, description="Latency SLO threshold, seconds.")
    slo_period_days: float = Field(30.0, gt=0, description="SLO period (latency and errors).")
    slo_error_objective: float = Field(0.999, gt=0, lt=1, description="Error-rate SLO: this "
                                       "share of requests answered without a model error.")
    concept_baseline_labelled: int = Field(1000, ge=1, description="Labelled predictions "
                                           "that set a model's baseline error rate.")
    concept_alpha: float = Field(0.001, gt=0, lt=1, description="Significance of a window's "
                                 "error-rate rise over the baseline.")
    concept_min_increase: float = Field(0.05, ge=0, le=1, description="Smallest rise of the "
                                        "error rate (absolute) that counts as concept drift.")
    estimate_max_drop: float = Field(0.05, ge=0, le=1, description="Drop of a window's "
                                     "accuracy estimate (CBPE, before labels) below the "
                                     "reference accuracy that counts as degraded.")
    estimate_z: float = Field(3.0, gt=0, description="Half-width of the accuracy estimate's "
                              "band, in standard errors of the realised accuracy.")
    embedding_sample: int = Field(128, ge=16, le=1024, description="Input embeddings kept "
                                  "per window (a bottom-k sample by request-id hash) and in "
                                  "a model's embedding reference.")
    embedding_reference: int = Field(512, ge=32, le=8192, description="Input embeddings "
                                     "of a model's first windows that form its reference "
                                     "(several windows' worth, so that one unusual window "
                                     "does not make every later test fire more often).")
    embedding_permutations: int = Field(400, ge=19, le=10_000, description="Permutations "
                                        "of the MMD test (its p-value is at least "
                                        "1 / (1 + this)).")
    embedding_alpha: float = Field(0.005, gt=0, lt=1, description="Significance of a "
                                   "window's embedding drift decision against the "
                                   "reference: the MMD and the novelty tests each at half.")
    quality_tolerance: float = Field(0.02, ge=0, lt=1, description="Rise of a feature's "
                                     "share of bad values (missing, non-finite, outside "
                                     "the training range, or a feature the reference does "
                                     "not know) over the reference's share that is "
                                     "tolerated before a data-quality page.")
    quality_alpha: float = Field(0.001, gt=0, lt=1, description="False discovery rate of "
                                 "the data-quality tests over a model's features.")
    dashboard_url: str = Field(
        "http://127.0.0.1:3000/d/inferwatch", description="Linked from alerts.")

    experiments: str = Field(
        "", description="Champion/challenger experiments, 'NAME=MODEL:CHAMPION:CHALLENGER:"
        "SHARE' comma-separated, e.g. 'churn-v2=churn:A:B:0.5' (SHARE: the challenger's).")
    ab_alpha: float = Field(0.05, gt=0, lt=0.5, description="Experiments: level of the "
                            "always-valid tests (two-sided primary, one-sided guardrails).")
    ab_tuning_n: float = Field(5000.0, gt=0, description="Experiments: the units (both "
                               "arms) the mixture SPRT is tuned for (GrowthBook's default).")
    ab_horizon: int = Field(200_000, ge=200, description="Experiments: labelled predictions "
                            "(both arms) after which no difference is 'inconclusive'.")
    ab_srm_level: float = Field(0.001, gt=0, lt=1, description="Experiments: level of the "
                                "sequential sample-ratio-mismatch test.")
    ab_unit_sample: float = Field(1.0, gt=0, le=1, description="Experiments: share of the "
                                  "units (by a hash of the unit id) the sample-ratio test "
                                  "counts; lower it when an experiment's active units exceed "
                                  "500,000 (the decision step's set of counted units).")
    ab_slow_margin: float = Field(0.01, ge=0, lt=1, description="Experiments: roll back a "
                                  "challenger whose share of predictions over the latency SLO "
                                  "threshold exceeds the champion's by more than this.")
    ab_error_margin: float = Field(0.005, ge=0, lt=1, description="Experiments: roll back a "
                                   "challenger whose share of model errors exceeds the "
                                   "champion's by more than this.")

    shadow_promote: str = Field(
        "challenger", description="Shadows: where a shadow version the paired verdict finds "
        "better goes: 'challenger' (a live experiment of its own) or 'champion'; per model "
        "as 'MODEL=champion,...', with an optional '*=challenger' for the rest.")
    shadow_horizon: int = Field(20_000, ge=1, description="Shadows: labelled pairs after "
                                "which a shadow still undecided is rejected.")

    _experiments_parse = field_validator("experiments")(parsed_by(parse_experiments))

    @field_validator("embedding_alpha")
    @classmethod
    def _reachable_alpha(cls, alpha: float, info: ValidationInfo) -> float:
        permutations = info.data.get("embedding_permutations", 400)
        if alpha / 2 < 1 / (1 + permutations):
            raise ValueError(f"half of {alpha} (the MMD test's share of it) is below the "
                             f"smallest p-value of {permutations} permutations, "
                             f"1/{permutations + 1}: the MMD could never fire (raise "
                             "INFERWATCH_MONITOR_EMBEDDING_PERMUTATIONS)")
        return alpha


class HealthSettings(BaseSettings):
    """The health loop: dead-letter rates (schema alerts) and consumer lag."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_HEALTH_", extra="ignore")

    interval_s: float = Field(2.0, gt=0, description="Seconds between evaluations.")
    dead_letter_share: float = Field(0.05, gt=0, lt=1, description="Share of a source "
                                     "topic's records dead-lettered for one reason, over "
                                     "dead_letter_window_s, that is a schema fault.")
    dead_letter_window_s: float = Field(30.0, gt=0, description="Seconds over which the "
                                        "dead-letter share is measured.")
    dead_letter_min_records: int = Field(50, ge=1, description="Fewest source records in "
                                         "the window for a share to be judged.")
    schema_fire_after_s: float = Field(10.0, ge=0, description="A dead-letter share over "
                                       "the bound this long pages.")
    schema_resolve_after_s: float = Field(15.0, ge=0, description="Under the bound this "
                                          "long, the schema alert resolves.")
    lag_max: int = Field(10_000, ge=1, description="Records a consumer group may be behind "
                         "on a topic.")
    lag_fire_after_s: float = Field(120.0, ge=0, description="Lag over lag_max this long "
                                    "pages.")
    lag_resolve_after_s: float = Field(60.0, ge=0, description="Lag under lag_max this "
                                       "long resolves.")
    lag_groups: str = Field("", description="Comma-separated consumer groups to watch; "
                            "empty: every group whose name starts with the topic prefix "
                            "(the workers' own).")

    @property
    def groups(self) -> list[str]:
        return comma_names(self.lag_groups)
