package dev.skep.election;

/** A member of the hive as last heard: its status and when it arrived (local clock). */
record Member(NodeStatus status, long heardAt) {}
