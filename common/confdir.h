/* Where the programs look for their files when not told: make compiles
 * the directory in from SYSCONFDIR (the Makefile rebuilds the objects that
 * use it when it changes), so an install with another SYSCONFDIR looks
 * where it installed. */
#ifndef DSRKIT_CONFDIR_H
#define DSRKIT_CONFDIR_H

#ifndef DSRKIT_CONFDIR
#define DSRKIT_CONFDIR "/etc/dsrkit"
#endif

#endif
