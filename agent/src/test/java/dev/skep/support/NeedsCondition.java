package dev.skep.support;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

import java.util.ArrayList;
import java.util.List;

/** Evaluates {@link Needs}: enabled when the machine has everything named, or when every tier must run. */
public final class NeedsCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Needs needs = context.getElement().flatMap(e -> AnnotationSupport.findAnnotation(e, Needs.class)).orElse(null);
        if (needs == null || Need.allTiersRequired()) {
            return ConditionEvaluationResult.enabled("every tier runs");
        }
        List<Need> missing = new ArrayList<>();
        for (Need n : needs.value()) {
            if (!n.present()) {
                missing.add(n);
            }
        }
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("the machine has what it needs");
        }
        String test = context.getTestClass().map(Class::getSimpleName).orElse("?")
                + context.getTestMethod().map(m -> "." + m.getName()).orElse("");
        SkippedTiers.skipped(test, missing);
        StringBuilder why = new StringBuilder("skipped: needs ");
        for (Need n : missing) {
            why.append(n.what()).append(" (").append(n.how()).append("); ");
        }
        return ConditionEvaluationResult.disabled(why.toString());
    }
}
