/*
 * main.c: catalog-fcgi command line.  Parses options, loads the
 * configuration (exit 78 on any error in it), hands over to the master.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <mysql.h>

#include "conf.h"
#include "log.h"
#include "master.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: catalog-fcgi [--config FILE]\n"
	    "       catalog-fcgi --help | --version\n"
	    "\n"
	    "FastCGI server for the catalog and order API.  Listens on\n"
	    "app.listen (or an inherited socket), runs app.workers workers.\n"
	    "\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n", CONF_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = CONF_DEFAULT_PATH;
	char err[CONF_ERR_MAX];
	struct conf conf;
	int ch, rc;

	log_init("catalog-fcgi");
	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("catalog-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if (conf_load(path, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "catalog-fcgi: %s\n", err);
		return CONF_EXIT;
	}
	log_set_level((enum log_level)log_level_parse(conf.log_level));
	/* before any thread exists (Connector/C's global state) */
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "catalog-fcgi: mysql_library_init failed\n");
		return 1;
	}
	rc = master_run(&conf, path);
	mysql_library_end();
	return rc;
}
