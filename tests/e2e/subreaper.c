// subreaper PIDFILE SCRIPT: become a child subreaper (as containerd's shim and conmon are), run SCRIPT with
// /bin/sh -c (it calls the runtime: create, start, exec -d ...), then wait for the pid written to PIDFILE.
// That pid must have been reparented to us; prints "exited N" or "signaled N" for its wait status.
// Exit codes: 0 reaped, 2 usage, 3 script failed, 4 bad pid file, 5 pid is not our child, 6 timeout.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "subreaper: timed out\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(6);
}

static pid_t read_pid(const char* path) {
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1) pid = -1;
    fclose(f);
    return (pid_t)pid;
}

static long parent_of(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    long ppid = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "PPid: %ld", &ppid) == 1) break;
    fclose(f);
    return ppid;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PIDFILE SCRIPT\n", argv[0]);
        return 2;
    }
    const char* timeout = getenv("SUBREAPER_TIMEOUT");
    signal(SIGALRM, on_alarm);
    alarm(timeout ? (unsigned)atoi(timeout) : 60);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
        return 2;
    }
    pid_t script = fork();
    if (script < 0) {
        perror("fork");
        return 2;
    }
    if (script == 0) {
        execl("/bin/sh", "sh", "-c", argv[2], (char*)NULL);
        perror("exec /bin/sh");
        _exit(127);
    }
    int st = 0;
    if (waitpid(script, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "subreaper: script failed (wait status 0x%x)\n", st);
        return 3;
    }
    pid_t pid = read_pid(argv[1]);
    if (pid <= 0) {
        fprintf(stderr, "subreaper: no pid in %s\n", argv[1]);
        return 4;
    }
    long ppid = parent_of(pid);
    printf("pid %d parent %ld self %d\n", (int)pid, ppid, (int)getpid());
    fflush(stdout);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "subreaper: waitpid(%d): %s (parent is %ld, not us)\n", (int)pid, strerror(errno),
                ppid);
        return 5;
    }
    if (WIFEXITED(st))
        printf("exited %d\n", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("signaled %d\n", WTERMSIG(st));
    else
        printf("status 0x%x\n", st);
    return 0;
}
