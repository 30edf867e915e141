/*
 * A Kafka-protocol test broker: librdkafka's in-process mock cluster, driven over stdin.
 *
 * Prints the bootstrap address ("host:port,...") as its first stdout line, then reads one command
 * per line and answers each with exactly one line, "ok" or "error <reason>", so that the launcher
 * (kafka-mock.ts) can issue commands strictly one after another. Exits on EOF of stdin, which
 * happens also when the launching process dies: the broker never outlives its test.
 *
 * Commands:
 *   create <topic> <partitions>          create a topic (the mock has no CreateTopics API)
 *   down <brokerId|-1>                   drop the broker's connections and refuse new ones
 *   up <brokerId|-1>                     accept connections again
 *   rtt <brokerId|-1> <ms>               delay every response of the broker
 *   error <apiKey> <errorCode> <count>   the next <count> requests of <apiKey> fail with <errorCode>
 *                                        (errorCode -195 = transport error: the broker disconnects)
 *   clear <apiKey>                       forget pushed errors of <apiKey>
 *
 * Build: gcc -O1 -o kafka-mock kafka-mock.c -lrdkafka
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void answer(rd_kafka_resp_err_t err) {
        if (err)
                printf("error %s\n", rd_kafka_err2name(err));
        else
                printf("ok\n");
        fflush(stdout);
}

int main(int argc, char **argv) {
        int broker_count = argc > 1 ? atoi(argv[1]) : 1;
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* Quiet: the mock's own client must not chatter on stderr. */
        rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "kafka-mock: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, broker_count < 1 ? 1 : broker_count);
        if (!cluster) {
                fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
                return 1;
        }
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
        fflush(stdout);

        char line[1024];
        while (fgets(line, sizeof(line), stdin)) {
                char command[32] = "", name[512] = "";
                long a = 0, b = 0, c = 0;
                if (sscanf(line, "%31s", command) != 1)
                        continue;
                if (!strcmp(command, "create") && sscanf(line, "%*s %511s %ld", name, &a) == 2)
                        answer(rd_kafka_mock_topic_create(cluster, name, (int)a, 1));
                else if (!strcmp(command, "down") && sscanf(line, "%*s %ld", &a) == 1)
                        answer(rd_kafka_mock_broker_set_down(cluster, (int32_t)a));
                else if (!strcmp(command, "up") && sscanf(line, "%*s %ld", &a) == 1)
                        answer(rd_kafka_mock_broker_set_up(cluster, (int32_t)a));
                else if (!strcmp(command, "rtt") && sscanf(line, "%*s %ld %ld", &a, &b) == 2)
                        answer(rd_kafka_mock_broker_set_rtt(cluster, (int32_t)a, (int)b));
                else if (!strcmp(command, "error") && sscanf(line, "%*s %ld %ld %ld", &a, &b, &c) == 3) {
                        for (long i = 0; i < c; i++)
                                rd_kafka_mock_push_request_errors(cluster, (int16_t)a, 1, (rd_kafka_resp_err_t)b);
                        answer(RD_KAFKA_RESP_ERR_NO_ERROR);
                } else if (!strcmp(command, "clear") && sscanf(line, "%*s %ld", &a) == 1) {
                        rd_kafka_mock_clear_request_errors(cluster, (int16_t)a);
                        answer(RD_KAFKA_RESP_ERR_NO_ERROR);
                } else {
                        printf("error unknown command\n");
                        fflush(stdout);
                }
        }

        rd_kafka_mock_cluster_destroy(cluster);
        rd_kafka_destroy(rk);
        return 0;
}
