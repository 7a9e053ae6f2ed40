package dev.skep.redis;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * INFO parsing on real output: each text below was printed by redis-server 7.0.15 ({@code redis-cli INFO}),
 * copied verbatim (all sections); only the line ends are restored to CRLF, as redis sends them.
 */
class InfoParserTest {

    @Test
    void masterWithTwoReplicasAndKeysInTwoDatabases() {
        RedisSnapshot s = InfoParser.parse(crlf(MASTER_WITH_2_REPLICAS));

        assertThat(s.role()).isEqualTo(RedisRole.MASTER);
        assertThat(s.runId()).isEqualTo("6eb77ddd83ffd5c19125691c5d60b5d0089f1ebb");
        assertThat(s.processId()).isEqualTo(3574);
        assertThat(s.version()).isEqualTo("redis 7.0.15");
        assertThat(s.connectedReplicas()).isEqualTo(2);
        assertThat(s.replOffset()).isEqualTo(577);
        assertThat(s.keys()).as("db0 keys=5 plus db3 keys=3").isEqualTo(8);
        assertThat(s.masterHost()).isNull();
        assertThat(s.masterPort()).isZero();
        assertThat(s.linkUp()).isFalse();
        assertThat(s.syncInProgress()).isFalse();
    }

    @Test
    void replicaWithLinkUp() {
        RedisSnapshot s = InfoParser.parse(crlf(REPLICA_LINK_UP));

        assertThat(s.role()).isEqualTo(RedisRole.REPLICA);
        assertThat(s.runId()).isEqualTo("71d7008b8a18ab398f6ff52cd809c5d5fbabc0a2");
        assertThat(s.processId()).isEqualTo(3576);
        assertThat(s.masterHost()).isEqualTo("127.0.0.1");
        assertThat(s.masterPort()).isEqualTo(27101);
        assertThat(s.linkUp()).isTrue();
        assertThat(s.syncInProgress()).isFalse();
        assertThat(s.replOffset()).as("same offset as its master").isEqualTo(577);
        assertThat(s.keys()).isEqualTo(8);
        assertThat(s.connectedReplicas()).isZero();
        assertThat(s.inSyncWith("127.0.0.1", 27101)).isTrue();
        assertThat(s.replicates("127.0.0.1", 27102)).isFalse();
    }

    @Test
    void replicaWithLinkDownDuringFullSync() {
        RedisSnapshot s = InfoParser.parse(crlf(REPLICA_LINK_DOWN_SYNCING));

        assertThat(s.role()).isEqualTo(RedisRole.REPLICA);
        assertThat(s.masterHost()).isEqualTo("127.0.0.1");
        assertThat(s.masterPort()).isEqualTo(27101);
        assertThat(s.linkUp()).isFalse();
        assertThat(s.syncInProgress()).isTrue();
        assertThat(s.replOffset()).isZero();
        assertThat(s.keys()).isZero();
        assertThat(s.replicates("127.0.0.1", 27101)).isTrue();
        assertThat(s.inSyncWith("127.0.0.1", 27101)).isFalse();
    }

    @Test
    void freshEmptyMaster() {
        RedisSnapshot s = InfoParser.parse(crlf(FRESH_MASTER));

        assertThat(s.role()).isEqualTo(RedisRole.MASTER);
        assertThat(s.runId()).hasSize(40);
        assertThat(s.keys()).isZero();
        assertThat(s.replOffset()).isZero();
        assertThat(s.connectedReplicas()).isZero();
        assertThat(s.masterHost()).isNull();
    }

    @Test
    void lfLineEndsParseLikeCrlf() {
        assertThat(InfoParser.parse(REPLICA_LINK_UP)).isEqualTo(InfoParser.parse(crlf(REPLICA_LINK_UP)));
    }

    @Test
    void replicationSectionAloneGivesTheRoleAndNeutralValuesForTheRest() {
        String replication = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.7\r\nmaster_port:6379\r\n"
                + "master_link_status:up\r\nmaster_sync_in_progress:0\r\nmaster_repl_offset:42\r\n";

        RedisSnapshot s = InfoParser.parse(replication);

        assertThat(s.replicates("10.0.0.7", 6379)).isTrue();
        assertThat(s.replOffset()).isEqualTo(42);
        assertThat(s.runId()).isNull();
        assertThat(s.version()).isNull();
        assertThat(s.processId()).isZero();
        assertThat(s.keys()).isZero();
    }

    @Test
    void emptyOrGarbledTextGivesNeutralValues() {
        RedisSnapshot expected = new RedisSnapshot(null, 0, null, RedisRole.UNKNOWN, null, 0, false, false, 0, 0, 0);

        assertThat(InfoParser.parse("")).isEqualTo(expected);
        assertThat(InfoParser.parse(null)).isEqualTo(expected);
        assertThat(InfoParser.parse("garbage\r\n:no key\r\nmaster_repl_offset:lots\r\ndb0:keys=x,expires=0\r\n"))
                .isEqualTo(expected);
    }

    private static String crlf(String lf) {
        return lf.replace("\n", "\r\n");
    }

    /** 127.0.0.1:27101 with replicas on 27102 and 27103, 5 keys in db0 and 3 in db3. */
    private static final String MASTER_WITH_2_REPLICAS = """
            # Server
            redis_version:7.0.15
            redis_git_sha1:00000000
            redis_git_dirty:0
            redis_build_id:ae4d7c971a948f0
            redis_mode:standalone
            os:Linux 6.18.44-fc-v782 x86_64
            arch_bits:64
            monotonic_clock:POSIX clock_gettime
            multiplexing_api:epoll
            atomicvar_api:c11-builtin
            gcc_version:12.2.0
            process_id:3574
            process_supervised:no
            run_id:6eb77ddd83ffd5c19125691c5d60b5d0089f1ebb
            tcp_port:27101
            server_time_usec:1795426918865123
            uptime_in_seconds:14
            uptime_in_days:0
            hz:10
            configured_hz:10
            lru_clock:264806
            executable:/tmp/skep-info/redis-server
            config_file:
            io_threads_active:0

            # Clients
            connected_clients:1
            cluster_connections:0
            maxclients:10000
            client_recent_max_input_buffer:20480
            client_recent_max_output_buffer:20504
            blocked_clients:0
            tracking_clients:0
            clients_in_timeout_table:0

            # Memory
            used_memory:1181088
            used_memory_human:1.13M
            used_memory_rss:12279808
            used_memory_rss_human:11.71M
            used_memory_peak:1181088
            used_memory_peak_human:1.13M
            used_memory_peak_perc:100.11%
            used_memory_overhead:897364
            used_memory_startup:876128
            used_memory_dataset:283724
            used_memory_dataset_perc:93.04%
            allocator_allocated:1973728
            allocator_active:2232320
            allocator_resident:4907008
            total_system_memory:25276063744
            total_system_memory_human:23.54G
            used_memory_lua:32768
            used_memory_vm_eval:32768
            used_memory_lua_human:32.00K
            used_memory_scripts_eval:0
            number_of_cached_scripts:0
            number_of_functions:0
            number_of_libraries:0
            used_memory_vm_functions:33792
            used_memory_vm_total:66560
            used_memory_vm_total_human:65.00K
            used_memory_functions:200
            used_memory_scripts:200
            used_memory_scripts_human:200B
            maxmemory:0
            maxmemory_human:0B
            maxmemory_policy:noeviction
            allocator_frag_ratio:1.13
            allocator_frag_bytes:258592
            allocator_rss_ratio:2.20
            allocator_rss_bytes:2674688
            rss_overhead_ratio:2.50
            rss_overhead_bytes:7372800
            mem_fragmentation_ratio:10.76
            mem_fragmentation_bytes:11138632
            mem_not_counted_for_evict:0
            mem_replication_backlog:20508
            mem_total_replication_buffers:20504
            mem_clients_slaves:0
            mem_clients_normal:0
            mem_cluster_links:0
            mem_aof_buffer:0
            mem_allocator:jemalloc-5.3.0
            active_defrag_running:0
            lazyfree_pending_objects:0
            lazyfreed_objects:0

            # Persistence
            loading:0
            async_loading:0
            current_cow_peak:0
            current_cow_size:0
            current_cow_size_age:0
            current_fork_perc:0.00
            current_save_keys_processed:0
            current_save_keys_total:0
            rdb_changes_since_last_save:27
            rdb_bgsave_in_progress:0
            rdb_last_save_time:1795426904
            rdb_last_bgsave_status:ok
            rdb_last_bgsave_time_sec:0
            rdb_current_bgsave_time_sec:-1
            rdb_saves:0
            rdb_last_cow_size:352256
            rdb_last_load_keys_expired:0
            rdb_last_load_keys_loaded:0
            aof_enabled:0
            aof_rewrite_in_progress:0
            aof_rewrite_scheduled:0
            aof_last_rewrite_time_sec:-1
            aof_current_rewrite_time_sec:-1
            aof_last_bgrewrite_status:ok
            aof_rewrites:0
            aof_rewrites_consecutive_failures:0
            aof_last_write_status:ok
            aof_last_cow_size:0
            module_fork_in_progress:0
            module_fork_last_cow_size:0

            # Stats
            total_connections_received:29
            total_commands_processed:56
            instantaneous_ops_per_sec:2
            total_net_input_bytes:1894
            total_net_output_bytes:11947
            total_net_repl_input_bytes:0
            total_net_repl_output_bytes:1798
            instantaneous_input_kbps:0.09
            instantaneous_output_kbps:0.00
            instantaneous_input_repl_kbps:0.00
            instantaneous_output_repl_kbps:0.00
            rejected_connections:0
            sync_full:2
            sync_partial_ok:0
            sync_partial_err:2
            expired_keys:0
            expired_stale_perc:0.00
            expired_time_cap_reached_count:0
            expire_cycle_cpu_milliseconds:0
            evicted_keys:0
            evicted_clients:0
            total_eviction_exceeded_time:0
            current_eviction_exceeded_time:0
            keyspace_hits:0
            keyspace_misses:0
            pubsub_channels:0
            pubsub_patterns:0
            pubsubshard_channels:0
            latest_fork_usec:561
            total_forks:1
            migrate_cached_sockets:0
            slave_expires_tracked_keys:0
            active_defrag_hits:0
            active_defrag_misses:0
            active_defrag_key_hits:0
            active_defrag_key_misses:0
            total_active_defrag_time:0
            current_active_defrag_time:0
            tracking_total_keys:0
            tracking_total_items:0
            tracking_total_prefixes:0
            unexpected_error_replies:0
            total_error_replies:0
            dump_payload_sanitizations:0
            total_reads_processed:83
            total_writes_processed:78
            io_threaded_reads_processed:0
            io_threaded_writes_processed:0
            reply_buffer_shrinks:2
            reply_buffer_expands:0

            # Replication
            role:master
            connected_slaves:2
            slave0:ip=127.0.0.1,port=27102,state=online,offset=577,lag=0
            slave1:ip=127.0.0.1,port=27103,state=online,offset=577,lag=0
            master_failover_state:no-failover
            master_replid:c90382850a628e05ba3428671ca4092cc51b5e64
            master_replid2:0000000000000000000000000000000000000000
            master_repl_offset:577
            second_repl_offset:-1
            repl_backlog_active:1
            repl_backlog_size:1048576
            repl_backlog_first_byte_offset:1
            repl_backlog_histlen:577

            # CPU
            used_cpu_sys:0.038770
            used_cpu_user:0.014098
            used_cpu_sys_children:0.003263
            used_cpu_user_children:0.000000
            used_cpu_sys_main_thread:0.038631
            used_cpu_user_main_thread:0.014047

            # Modules

            # Errorstats

            # Cluster
            cluster_enabled:0

            # Keyspace
            db0:keys=5,expires=1,avg_ttl=989198
            db3:keys=3,expires=1,avg_ttl=989198
            """;

    /** 127.0.0.1:27102, replica of 27101 above, link up. */
    private static final String REPLICA_LINK_UP = """
            # Server
            redis_version:7.0.15
            redis_git_sha1:00000000
            redis_git_dirty:0
            redis_build_id:ae4d7c971a948f0
            redis_mode:standalone
            os:Linux 6.18.44-fc-v782 x86_64
            arch_bits:64
            monotonic_clock:POSIX clock_gettime
            multiplexing_api:epoll
            atomicvar_api:c11-builtin
            gcc_version:12.2.0
            process_id:3576
            process_supervised:no
            run_id:71d7008b8a18ab398f6ff52cd809c5d5fbabc0a2
            tcp_port:27102
            server_time_usec:1795426918874450
            uptime_in_seconds:14
            uptime_in_days:0
            hz:10
            configured_hz:10
            lru_clock:264806
            executable:/tmp/skep-info/redis-server
            config_file:
            io_threads_active:0

            # Clients
            connected_clients:2
            cluster_connections:0
            maxclients:10000
            client_recent_max_input_buffer:64
            client_recent_max_output_buffer:0
            blocked_clients:0
            tracking_clients:0
            clients_in_timeout_table:0

            # Memory
            used_memory:1063808
            used_memory_human:1.01M
            used_memory_rss:12283904
            used_memory_rss_human:11.71M
            used_memory_peak:1064904
            used_memory_peak_human:1.02M
            used_memory_peak_perc:99.90%
            used_memory_overhead:899188
            used_memory_startup:876128
            used_memory_dataset:164620
            used_memory_dataset_perc:87.71%
            allocator_allocated:2004192
            allocator_active:2179072
            allocator_resident:4894720
            total_system_memory:25276063744
            total_system_memory_human:23.54G
            used_memory_lua:32768
            used_memory_vm_eval:32768
            used_memory_lua_human:32.00K
            used_memory_scripts_eval:0
            number_of_cached_scripts:0
            number_of_functions:0
            number_of_libraries:0
            used_memory_vm_functions:33792
            used_memory_vm_total:66560
            used_memory_vm_total_human:65.00K
            used_memory_functions:200
            used_memory_scripts:200
            used_memory_scripts_human:200B
            maxmemory:0
            maxmemory_human:0B
            maxmemory_policy:noeviction
            allocator_frag_ratio:1.09
            allocator_frag_bytes:174880
            allocator_rss_ratio:2.25
            allocator_rss_bytes:2715648
            rss_overhead_ratio:2.51
            rss_overhead_bytes:7389184
            mem_fragmentation_ratio:12.00
            mem_fragmentation_bytes:11260040
            mem_not_counted_for_evict:0
            mem_replication_backlog:20508
            mem_total_replication_buffers:20504
            mem_clients_slaves:0
            mem_clients_normal:1824
            mem_cluster_links:0
            mem_aof_buffer:0
            mem_allocator:jemalloc-5.3.0
            active_defrag_running:0
            lazyfree_pending_objects:0
            lazyfreed_objects:0

            # Persistence
            loading:0
            async_loading:0
            current_cow_peak:0
            current_cow_size:0
            current_cow_size_age:0
            current_fork_perc:0.00
            current_save_keys_processed:0
            current_save_keys_total:0
            rdb_changes_since_last_save:20
            rdb_bgsave_in_progress:0
            rdb_last_save_time:1795426904
            rdb_last_bgsave_status:ok
            rdb_last_bgsave_time_sec:-1
            rdb_current_bgsave_time_sec:-1
            rdb_saves:0
            rdb_last_cow_size:0
            rdb_last_load_keys_expired:0
            rdb_last_load_keys_loaded:7
            aof_enabled:0
            aof_rewrite_in_progress:0
            aof_rewrite_scheduled:0
            aof_last_rewrite_time_sec:-1
            aof_current_rewrite_time_sec:-1
            aof_last_bgrewrite_status:ok
            aof_rewrites:0
            aof_rewrites_consecutive_failures:0
            aof_last_write_status:ok
            aof_last_cow_size:0
            module_fork_in_progress:0
            module_fork_last_cow_size:0

            # Stats
            total_connections_received:3
            total_commands_processed:24
            instantaneous_ops_per_sec:0
            total_net_input_bytes:972
            total_net_output_bytes:5542
            total_net_repl_input_bytes:899
            total_net_repl_output_bytes:0
            instantaneous_input_kbps:0.00
            instantaneous_output_kbps:0.04
            instantaneous_input_repl_kbps:0.00
            instantaneous_output_repl_kbps:0.00
            rejected_connections:0
            sync_full:0
            sync_partial_ok:0
            sync_partial_err:0
            expired_keys:0
            expired_stale_perc:0.00
            expired_time_cap_reached_count:0
            expire_cycle_cpu_milliseconds:0
            evicted_keys:0
            evicted_clients:0
            total_eviction_exceeded_time:0
            current_eviction_exceeded_time:0
            keyspace_hits:0
            keyspace_misses:0
            pubsub_channels:0
            pubsub_patterns:0
            pubsubshard_channels:0
            latest_fork_usec:0
            total_forks:0
            migrate_cached_sockets:0
            slave_expires_tracked_keys:0
            active_defrag_hits:0
            active_defrag_misses:0
            active_defrag_key_hits:0
            active_defrag_key_misses:0
            total_active_defrag_time:0
            current_active_defrag_time:0
            tracking_total_keys:0
            tracking_total_items:0
            tracking_total_prefixes:0
            unexpected_error_replies:0
            total_error_replies:0
            dump_payload_sanitizations:0
            total_reads_processed:26
            total_writes_processed:12
            io_threaded_reads_processed:0
            io_threaded_writes_processed:0
            reply_buffer_shrinks:1
            reply_buffer_expands:0

            # Replication
            role:slave
            master_host:127.0.0.1
            master_port:27101
            master_link_status:up
            master_last_io_seconds_ago:2
            master_sync_in_progress:0
            slave_read_repl_offset:577
            slave_repl_offset:577
            slave_priority:100
            slave_read_only:1
            replica_announced:1
            connected_slaves:0
            master_failover_state:no-failover
            master_replid:c90382850a628e05ba3428671ca4092cc51b5e64
            master_replid2:0000000000000000000000000000000000000000
            master_repl_offset:577
            second_repl_offset:-1
            repl_backlog_active:1
            repl_backlog_size:1048576
            repl_backlog_first_byte_offset:1
            repl_backlog_histlen:577

            # CPU
            used_cpu_sys:0.021569
            used_cpu_user:0.023230
            used_cpu_sys_children:0.000000
            used_cpu_user_children:0.000000
            used_cpu_sys_main_thread:0.019850
            used_cpu_user_main_thread:0.024813

            # Modules

            # Errorstats

            # Cluster
            cluster_enabled:0

            # Keyspace
            db0:keys=5,expires=1,avg_ttl=0
            db3:keys=3,expires=1,avg_ttl=0
            """;

    /** A new replica of 27101 caught in its first full sync (the master was slowed with rdb-key-save-delay). */
    private static final String REPLICA_LINK_DOWN_SYNCING = """
            # Server
            redis_version:7.0.15
            redis_git_sha1:00000000
            redis_git_dirty:0
            redis_build_id:ae4d7c971a948f0
            redis_mode:standalone
            os:Linux 6.18.44-fc-v782 x86_64
            arch_bits:64
            monotonic_clock:POSIX clock_gettime
            multiplexing_api:epoll
            atomicvar_api:c11-builtin
            gcc_version:12.2.0
            process_id:3682
            process_supervised:no
            run_id:f629d6b5f14c3539285659d8962de22a1ac2754d
            tcp_port:27105
            server_time_usec:1795426932647330
            uptime_in_seconds:2
            uptime_in_days:0
            hz:10
            configured_hz:10
            lru_clock:264820
            executable:/tmp/skep-info/redis-server
            config_file:
            io_threads_active:0

            # Clients
            connected_clients:1
            cluster_connections:0
            maxclients:10000
            client_recent_max_input_buffer:0
            client_recent_max_output_buffer:0
            blocked_clients:0
            tracking_clients:0
            clients_in_timeout_table:0

            # Memory
            used_memory:959256
            used_memory_human:936.77K
            used_memory_rss:12406784
            used_memory_rss_human:11.83M
            used_memory_peak:959256
            used_memory_peak_human:936.77K
            used_memory_peak_perc:100.24%
            used_memory_overhead:876392
            used_memory_startup:876192
            used_memory_dataset:82864
            used_memory_dataset_perc:99.76%
            allocator_allocated:1752288
            allocator_active:1900544
            allocator_resident:4571136
            total_system_memory:25276063744
            total_system_memory_human:23.54G
            used_memory_lua:32768
            used_memory_vm_eval:32768
            used_memory_lua_human:32.00K
            used_memory_scripts_eval:0
            number_of_cached_scripts:0
            number_of_functions:0
            number_of_libraries:0
            used_memory_vm_functions:33792
            used_memory_vm_total:66560
            used_memory_vm_total_human:65.00K
            used_memory_functions:200
            used_memory_scripts:200
            used_memory_scripts_human:200B
            maxmemory:0
            maxmemory_human:0B
            maxmemory_policy:noeviction
            allocator_frag_ratio:1.08
            allocator_frag_bytes:148256
            allocator_rss_ratio:2.41
            allocator_rss_bytes:2670592
            rss_overhead_ratio:2.71
            rss_overhead_bytes:7835648
            mem_fragmentation_ratio:13.51
            mem_fragmentation_bytes:11488128
            mem_not_counted_for_evict:0
            mem_replication_backlog:0
            mem_total_replication_buffers:0
            mem_clients_slaves:0
            mem_clients_normal:0
            mem_cluster_links:0
            mem_aof_buffer:0
            mem_allocator:jemalloc-5.3.0
            active_defrag_running:0
            lazyfree_pending_objects:0
            lazyfreed_objects:0

            # Persistence
            loading:0
            async_loading:0
            current_cow_peak:0
            current_cow_size:0
            current_cow_size_age:0
            current_fork_perc:0.00
            current_save_keys_processed:0
            current_save_keys_total:0
            rdb_changes_since_last_save:0
            rdb_bgsave_in_progress:0
            rdb_last_save_time:1795426930
            rdb_last_bgsave_status:ok
            rdb_last_bgsave_time_sec:-1
            rdb_current_bgsave_time_sec:-1
            rdb_saves:0
            rdb_last_cow_size:0
            rdb_last_load_keys_expired:0
            rdb_last_load_keys_loaded:0
            aof_enabled:0
            aof_rewrite_in_progress:0
            aof_rewrite_scheduled:0
            aof_last_rewrite_time_sec:-1
            aof_current_rewrite_time_sec:-1
            aof_last_bgrewrite_status:ok
            aof_rewrites:0
            aof_rewrites_consecutive_failures:0
            aof_last_write_status:ok
            aof_last_cow_size:0
            module_fork_in_progress:0
            module_fork_last_cow_size:0

            # Stats
            total_connections_received:2
            total_commands_processed:1
            instantaneous_ops_per_sec:0
            total_net_input_bytes:59
            total_net_output_bytes:5
            total_net_repl_input_bytes:0
            total_net_repl_output_bytes:0
            instantaneous_input_kbps:0.00
            instantaneous_output_kbps:0.00
            instantaneous_input_repl_kbps:0.00
            instantaneous_output_repl_kbps:0.00
            rejected_connections:0
            sync_full:0
            sync_partial_ok:0
            sync_partial_err:0
            expired_keys:0
            expired_stale_perc:0.00
            expired_time_cap_reached_count:0
            expire_cycle_cpu_milliseconds:0
            evicted_keys:0
            evicted_clients:0
            total_eviction_exceeded_time:0
            current_eviction_exceeded_time:0
            keyspace_hits:0
            keyspace_misses:0
            pubsub_channels:0
            pubsub_patterns:0
            pubsubshard_channels:0
            latest_fork_usec:0
            total_forks:0
            migrate_cached_sockets:0
            slave_expires_tracked_keys:0
            active_defrag_hits:0
            active_defrag_misses:0
            active_defrag_key_hits:0
            active_defrag_key_misses:0
            total_active_defrag_time:0
            current_active_defrag_time:0
            tracking_total_keys:0
            tracking_total_items:0
            tracking_total_prefixes:0
            unexpected_error_replies:0
            total_error_replies:0
            dump_payload_sanitizations:0
            total_reads_processed:3
            total_writes_processed:1
            io_threaded_reads_processed:0
            io_threaded_writes_processed:0
            reply_buffer_shrinks:0
            reply_buffer_expands:0

            # Replication
            role:slave
            master_host:127.0.0.1
            master_port:27101
            master_link_status:down
            master_last_io_seconds_ago:-1
            master_sync_in_progress:1
            slave_read_repl_offset:0
            slave_repl_offset:0
            master_sync_total_bytes:-1
            master_sync_read_bytes:0
            master_sync_left_bytes:-1
            master_sync_perc:-0.00
            master_sync_last_io_seconds_ago:2
            master_link_down_since_seconds:-1
            slave_priority:100
            slave_read_only:1
            replica_announced:1
            connected_slaves:0
            master_failover_state:no-failover
            master_replid:b67126ece1300583a01c8b5ad80049a6ada5b019
            master_replid2:0000000000000000000000000000000000000000
            master_repl_offset:0
            second_repl_offset:-1
            repl_backlog_active:0
            repl_backlog_size:1048576
            repl_backlog_first_byte_offset:0
            repl_backlog_histlen:0

            # CPU
            used_cpu_sys:0.009735
            used_cpu_user:0.012843
            used_cpu_sys_children:0.000000
            used_cpu_user_children:0.000000
            used_cpu_sys_main_thread:0.007469
            used_cpu_user_main_thread:0.014938

            # Modules

            # Errorstats

            # Cluster
            cluster_enabled:0

            # Keyspace
            """;

    /** 27101 just after it started: no keys, no replicas. */
    private static final String FRESH_MASTER = """
            # Server
            redis_version:7.0.15
            redis_git_sha1:00000000
            redis_git_dirty:0
            redis_build_id:ae4d7c971a948f0
            redis_mode:standalone
            os:Linux 6.18.44-fc-v782 x86_64
            arch_bits:64
            monotonic_clock:POSIX clock_gettime
            multiplexing_api:epoll
            atomicvar_api:c11-builtin
            gcc_version:12.2.0
            process_id:3574
            process_supervised:no
            run_id:6eb77ddd83ffd5c19125691c5d60b5d0089f1ebb
            tcp_port:27101
            server_time_usec:1795426905422837
            uptime_in_seconds:1
            uptime_in_days:0
            hz:10
            configured_hz:10
            lru_clock:264793
            executable:/tmp/skep-info/redis-server
            config_file:
            io_threads_active:0

            # Clients
            connected_clients:1
            cluster_connections:0
            maxclients:10000
            client_recent_max_input_buffer:0
            client_recent_max_output_buffer:0
            blocked_clients:0
            tracking_clients:0
            clients_in_timeout_table:0

            # Memory
            used_memory:916896
            used_memory_human:895.41K
            used_memory_rss:12148736
            used_memory_rss_human:11.59M
            used_memory_peak:916896
            used_memory_peak_human:895.41K
            used_memory_peak_perc:102.57%
            used_memory_overhead:876328
            used_memory_startup:876128
            used_memory_dataset:40568
            used_memory_dataset_perc:99.51%
            allocator_allocated:1690848
            allocator_active:1826816
            allocator_resident:4497408
            total_system_memory:25276063744
            total_system_memory_human:23.54G
            used_memory_lua:32768
            used_memory_vm_eval:32768
            used_memory_lua_human:32.00K
            used_memory_scripts_eval:0
            number_of_cached_scripts:0
            number_of_functions:0
            number_of_libraries:0
            used_memory_vm_functions:33792
            used_memory_vm_total:66560
            used_memory_vm_total_human:65.00K
            used_memory_functions:200
            used_memory_scripts:200
            used_memory_scripts_human:200B
            maxmemory:0
            maxmemory_human:0B
            maxmemory_policy:noeviction
            allocator_frag_ratio:1.08
            allocator_frag_bytes:135968
            allocator_rss_ratio:2.46
            allocator_rss_bytes:2670592
            rss_overhead_ratio:2.70
            rss_overhead_bytes:7651328
            mem_fragmentation_ratio:13.86
            mem_fragmentation_bytes:11272464
            mem_not_counted_for_evict:0
            mem_replication_backlog:0
            mem_total_replication_buffers:0
            mem_clients_slaves:0
            mem_clients_normal:0
            mem_cluster_links:0
            mem_aof_buffer:0
            mem_allocator:jemalloc-5.3.0
            active_defrag_running:0
            lazyfree_pending_objects:0
            lazyfreed_objects:0

            # Persistence
            loading:0
            async_loading:0
            current_cow_peak:0
            current_cow_size:0
            current_cow_size_age:0
            current_fork_perc:0.00
            current_save_keys_processed:0
            current_save_keys_total:0
            rdb_changes_since_last_save:0
            rdb_bgsave_in_progress:0
            rdb_last_save_time:1795426904
            rdb_last_bgsave_status:ok
            rdb_last_bgsave_time_sec:-1
            rdb_current_bgsave_time_sec:-1
            rdb_saves:0
            rdb_last_cow_size:0
            rdb_last_load_keys_expired:0
            rdb_last_load_keys_loaded:0
            aof_enabled:0
            aof_rewrite_in_progress:0
            aof_rewrite_scheduled:0
            aof_last_rewrite_time_sec:-1
            aof_current_rewrite_time_sec:-1
            aof_last_bgrewrite_status:ok
            aof_rewrites:0
            aof_rewrites_consecutive_failures:0
            aof_last_write_status:ok
            aof_last_cow_size:0
            module_fork_in_progress:0
            module_fork_last_cow_size:0

            # Stats
            total_connections_received:1
            total_commands_processed:0
            instantaneous_ops_per_sec:0
            total_net_input_bytes:14
            total_net_output_bytes:0
            total_net_repl_input_bytes:0
            total_net_repl_output_bytes:0
            instantaneous_input_kbps:0.00
            instantaneous_output_kbps:0.00
            instantaneous_input_repl_kbps:0.00
            instantaneous_output_repl_kbps:0.00
            rejected_connections:0
            sync_full:0
            sync_partial_ok:0
            sync_partial_err:0
            expired_keys:0
            expired_stale_perc:0.00
            expired_time_cap_reached_count:0
            expire_cycle_cpu_milliseconds:0
            evicted_keys:0
            evicted_clients:0
            total_eviction_exceeded_time:0
            current_eviction_exceeded_time:0
            keyspace_hits:0
            keyspace_misses:0
            pubsub_channels:0
            pubsub_patterns:0
            pubsubshard_channels:0
            latest_fork_usec:0
            total_forks:0
            migrate_cached_sockets:0
            slave_expires_tracked_keys:0
            active_defrag_hits:0
            active_defrag_misses:0
            active_defrag_key_hits:0
            active_defrag_key_misses:0
            total_active_defrag_time:0
            current_active_defrag_time:0
            tracking_total_keys:0
            tracking_total_items:0
            tracking_total_prefixes:0
            unexpected_error_replies:0
            total_error_replies:0
            dump_payload_sanitizations:0
            total_reads_processed:1
            total_writes_processed:0
            io_threaded_reads_processed:0
            io_threaded_writes_processed:0
            reply_buffer_shrinks:0
            reply_buffer_expands:0

            # Replication
            role:master
            connected_slaves:0
            master_failover_state:no-failover
            master_replid:d1149c594e30515eb50bcdb034474cfbc81fbd2b
            master_replid2:0000000000000000000000000000000000000000
            master_repl_offset:0
            second_repl_offset:-1
            repl_backlog_active:0
            repl_backlog_size:1048576
            repl_backlog_first_byte_offset:0
            repl_backlog_histlen:0

            # CPU
            used_cpu_sys:0.011601
            used_cpu_user:0.003867
            used_cpu_sys_children:0.000000
            used_cpu_user_children:0.000000
            used_cpu_sys_main_thread:0.011541
            used_cpu_user_main_thread:0.003847

            # Modules

            # Errorstats

            # Cluster
            cluster_enabled:0

            # Keyspace
            """;

    @Test
    void aFenceShowsAsMinSlavesGoodSlavesWhichRedisListsOnlyWhileMinReplicasToWriteIsSet() {
        String fenced = "# Server\r\nprocess_id:5021\r\nuptime_in_seconds:42\r\n# Replication\r\nrole:master\r\n"
                + "connected_slaves:0\r\nmin_slaves_good_slaves:0\r\nmaster_repl_offset:0\r\n";
        RedisSnapshot s = InfoParser.parse(fenced);
        assertThat(s.fenced()).isTrue();
        assertThat(s.uptimeSeconds()).isEqualTo(42);
        assertThat(InfoParser.parse(fenced.replace("min_slaves_good_slaves:0\r\n", "")).fenced()).isFalse();
    }
}
