package dev.skep.election;

import java.util.ArrayList;
import java.util.List;

/**
 * What handling one event produces: the effects, in the order they are to be carried out, and whether this node's
 * status changed (its peers are then told at once rather than at the next tick). {@link Election} and the parts it
 * is made of add to the one list, so that the order of the effects is the order of the decisions. Confined to the
 * control thread, as {@link Election} is.
 */
final class Outbox {
    private List<Effect> effects = new ArrayList<>();
    private boolean changed;

    /** Starts the effects of a new event. */
    void start() {
        effects = new ArrayList<>();
        changed = false;
    }

    /** The effects of the event, in order. */
    List<Effect> effects() {
        return effects;
    }

    void add(Effect effect) {
        effects.add(effect);
    }

    /** Something an operator should see in the event log, with its cause. */
    void record(String kind, String message) {
        effects.add(new Effect.Record(kind, message));
    }

    /** This node's status changed: its peers are told before the event is done. */
    void changed() {
        changed = true;
    }

    boolean isChanged() {
        return changed;
    }

    /** The status was just broadcast: nothing more to tell until it changes again. */
    void told() {
        changed = false;
    }
}
