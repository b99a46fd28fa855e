/* Rise/fall: how a run of check results becomes up or down. One machine
 * for every check of the suite (directord's real-server checks and agent
 * replies, its track scripts, rs-agent's local checks), so they all mean
 * the same by rise and fall. Pure. */
#ifndef DSRKIT_RISEFALL_H
#define DSRKIT_RISEFALL_H

#include <stdbool.h>

struct risefall {
	bool known;		/* a result has come in */
	bool up;		/* after rise/fall */
	bool last_pass;		/* the last result */
	unsigned in_row;	/* results in a row equal to the last (saturating) */
};

/* Record one result. The first decides at once (there is nothing to smooth
 * yet); after it, rise passes in a row bring a down check up and fall
 * failures in a row take an up one down (0 counts as 1). True when up
 * changed, or became known. */
bool risefall_record(struct risefall *rf, bool pass, unsigned rise, unsigned fall);

#endif
