/* keepalived.conf -> director.ini (kaimport.c), for
 * `directorctl import-keepalived`. Pure logic: a tree from kaconf.h in,
 * text out. */
#ifndef DSRKIT_KAIMPORT_H
#define DSRKIT_KAIMPORT_H

#include "ini.h"
#include "kaconf.h"
#include "util.h"

/* Write the director.ini equivalent of tree to out. Everything that has
 * no equivalent is one "FILE:LINE: message" in warnings, and the same
 * lines head the output as ';' comments: nothing is dropped silently.
 * 0, or -ENOMEM. */
int ka_import(const struct ka_tree *tree, struct strbuf *out, struct ini_diag *warnings);

#endif
