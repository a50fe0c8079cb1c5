/** A decaying lognormal fit of one (tenant, job type)'s completion times, as stored in job_type_stats. */
export interface TypeStats {
  /** Decayed number of observations. */
  samples: number;
  meanLog: number;
  varLog: number;
}

/** A job type's completion time as a lognormal: mean and standard deviation of ln(duration in ms). */
export interface DurationModel {
  meanLog: number;
  sdLog: number;
}

/** Key of a (tenant, job type) pair in in-memory maps. */
export const statsKey = (tenantId: string, jobType: string) => `${tenantId} ${jobType}`;
