/*
 * trivial-fcgi.c: the benchmark's reference FastCGI responder.  It answers
 * every request with the bytes of one file (read once at start), through
 * the same libfcgi accept loops and the same single write as catalog-fcgi,
 * with the same number of worker processes and threads, so "hit path /
 * trivial" shows what the cache lookup costs on top of FastCGI itself.
 *
 * Usage: trivial-fcgi SOCKET FILE WORKERS THREADS
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fcgiapp.h>

static char *body;
static size_t body_len;

static int listen_fd;

static void *
serve(void *arg)
{
	FCGX_Request req;
	char head[256];
	int n;

	FCGX_InitRequest(&req, listen_fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		char *out;

		n = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "X-Cache: HIT\r\n\r\n", body_len);
		out = malloc((size_t)n + body_len);
		if (out == NULL)
			break;
		memcpy(out, head, (size_t)n);
		memcpy(out + n, body, body_len);
		FCGX_PutStr(out, n + (int)body_len, req.out);
		free(out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct stat st;
	FILE *fp;
	int fd, i, j, workers, threads;

	if (argc != 5 || (workers = atoi(argv[3])) < 1 ||
	    (threads = atoi(argv[4])) < 1 || threads > 64) {
		fprintf(stderr, "usage: trivial-fcgi SOCKET FILE WORKERS THREADS\n");
		return 64;
	}
	if ((fp = fopen(argv[2], "rb")) == NULL || fstat(fileno(fp), &st) != 0)
		return 1;
	body_len = (size_t)st.st_size;
	if ((body = malloc(body_len + 1)) == NULL ||
	    fread(body, 1, body_len, fp) != body_len)
		return 1;
	fclose(fp);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(argv[1], 0666) != 0 || listen(fd, 1024) != 0) {
		perror("trivial-fcgi: listen");
		return 1;
	}
	for (i = 0; i < workers; i++)
		if (fork() == 0) {
			pthread_t tid[64];

			prctl(PR_SET_PDEATHSIG, SIGTERM);
			listen_fd = fd;
			FCGX_Init();
			for (j = 1; j < threads; j++)
				pthread_create(&tid[j], NULL, serve, NULL);
			serve(NULL);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	return 0;
}
